using System.Text.RegularExpressions;
using Microsoft.Playwright;
using PhiMailGateway.Guard;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.PickupWeb.Browser;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.GuardWeb;

/// <summary>
/// What the sender sees when the guard holds a copy, in headless Chromium at phone width: the
/// notice mail's HTML part, and the page where a tap on "Don't send" (a real form post with its
/// anti-forgery token) settles the copy.
/// </summary>
[NonParallelizable]
public sealed partial class SenderPageBrowserTests
{
    private const string Typo = "dr.lee@endo-specialsts.example";

    [Test]
    public async Task HeldNoticeAndSendersPage_At375Px_ReadWithoutSidewaysScrollingAndDontSendSettlesTheCopy()
    {
        var browser = await SharedBrowser.GetAsync();
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Guard:KnownDomains:0"] = "endo-specialists.example" });
        var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway, PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg())), Typo);
        ReceivedMessage? notice = null;
        await RelayEndToEndTests.WaitUntilAsync(() =>
        {
            notice = bed.Upstream.Messages.FirstOrDefault(m => PickupTestBed.Parse(m).Subject == GuardNotices.HeldSubject);
            return Task.FromResult(notice is not null);
        }, "the hold notice");
        var parsed = PickupTestBed.Parse(notice!);

        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 375, Height = 740 }, IsMobile = true, HasTouch = true,
        });
        context.SetDefaultTimeout(60_000);
        var mail = await context.NewPageAsync();
        await mail.SetContentAsync(parsed.HtmlBody!);
        Assert.That(await mail.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth"), Is.LessThanOrEqualTo(0),
            "the notice reads on a phone without sideways scrolling");
        var button = mail.GetByRole(AriaRole.Link, new() { Name = "Check the address" });
        Assert.That(await button.IsVisibleAsync(), Is.True, "one obvious button");
        Assert.That(await mail.Locator("body").InnerTextAsync(), Does.Contain(Typo).And.Contain("looks like endo-specialists.example"));
        await mail.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "guard-notice-375.png"), FullPage = true });

        var page = await context.NewPageAsync();
        await page.GotoAsync(await button.GetAttributeAsync("href") ?? "");
        Assert.That(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth"), Is.LessThanOrEqualTo(0),
            "the page reads on a phone without sideways scrolling");
        Assert.That(await page.Locator("h1").InnerTextAsync(), Is.EqualTo("Please check the address"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "guard-page-375.png"), FullPage = true });

        await page.GetByRole(AriaRole.Button, new() { Name = "Don’t send" }).ClickAsync();
        await page.WaitForURLAsync(DoneCancelled());
        Assert.That(await page.Locator("[role=status]").InnerTextAsync(), Does.Contain("It will not be sent"));
        Assert.That(await bed.QueryAsync<string>("SELECT state FROM guard_holds WHERE queue_id = @queueId", new { queueId }), Is.EqualTo(GuardHoldStates.Cancelled));
    }

    [GeneratedRegex("done=cancelled$")]
    private static partial Regex DoneCancelled();
}
