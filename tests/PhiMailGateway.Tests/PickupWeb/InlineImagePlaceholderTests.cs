using MimeKit;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Tests.PickupWeb;

public class InlineImagePlaceholderTests
{
    [Test]
    public void InlineImagePlaceholder_OnlyImagesWhosePartIsGone_AreReplaced()
    {
        var builder = new BodyBuilder();
        var logo = builder.LinkedResources.Add("logo.png", [1, 2, 3], ContentType.Parse("image/png"));
        logo.ContentId = "logo@practice.example";
        builder.HtmlBody = "<p>Hi</p><IMG alt=\"bitewing TEST^PATIENT\" SRC='cid:xray@practice.example' width=300><img src=\"cid:logo@practice.example\">";
        var message = new MimeMessage { Body = builder.ToMessageBody() };

        Assert.That(InlineImagePlaceholder.ReplaceMissing(message), Is.EqualTo(1));
        var html = message.HtmlBody;
        Assert.That(html, Does.Contain(InlineImagePlaceholder.Text));
        Assert.That(html, Does.Not.Contain("xray@").And.Not.Contain("TEST^PATIENT"), "nothing of the moved image's tag stays");
        Assert.That(html, Does.Contain("<img src=\"cid:logo@practice.example\">"), "a picture still in the mail keeps working");
    }
}
