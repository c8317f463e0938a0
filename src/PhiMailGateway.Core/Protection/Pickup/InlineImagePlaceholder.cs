using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// An image pasted into an Outlook mail is a <c>cid:</c> reference from the HTML to a part of the
/// message. When pickup moves that part into the package, the reference points at nothing and the
/// recipient sees a broken picture. Each such <c>&lt;img&gt;</c> becomes a short text saying where the
/// picture went. The placeholder carries no image bytes and none of the tag's attributes (its
/// <c>alt</c> or <c>title</c> may name the patient or the file), only fixed words.
/// </summary>
public static partial class InlineImagePlaceholder
{
    public const string Text = "[Picture: in the secure files]";

    private const string Html =
        "<span style=\"display:inline-block;border:1px dashed #8a94a0;border-radius:4px;padding:4px 8px;color:#4a5560;font-size:14px\">" + Text + "</span>";

    /// <summary>Replaces every <c>cid:</c> image of the message's HTML parts whose part is no longer in the message; returns how many.</summary>
    public static int ReplaceMissing(MimeMessage message)
    {
        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in message.BodyParts)
        {
            if (part.ContentId is { Length: > 0 } id) present.Add(id);
        }
        var replaced = 0;
        foreach (var html in message.BodyParts.OfType<TextPart>().Where(t => t.IsHtml && !t.IsAttachment).ToList())
        {
            var count = 0;
            string text;
            try
            {
                text = ImageTag().Replace(html.Text, tag =>
                {
                    if (!IsMissingCid(tag.Value, present)) return tag.Value;
                    count++;
                    return Html;
                });
            }
            catch (RegexMatchTimeoutException)
            {
                // Pathological HTML: a broken picture is harmless, a message stuck in processing is not.
                continue;
            }
            if (count == 0) continue;
            html.SetText(Encoding.UTF8, text);
            replaced += count;
        }
        return replaced;
    }

    private static bool IsMissingCid(string tag, HashSet<string> present)
    {
        var src = SourceAttribute().Match(tag);
        if (!src.Success) return false;
        var value = (src.Groups["d"].Success ? src.Groups["d"].Value : src.Groups["s"].Success ? src.Groups["s"].Value : src.Groups["u"].Value).Trim();
        if (!value.StartsWith("cid:", StringComparison.OrdinalIgnoreCase)) return false;
        return !present.Contains(Uri.UnescapeDataString(value[4..]).Trim('<', '>'));
    }

    [GeneratedRegex(@"<img\b[^>]*>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex ImageTag();

    [GeneratedRegex(@"\ssrc\s*=\s*(?:""(?<d>[^""]*)""|'(?<s>[^']*)'|(?<u>[^\s>]+))", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex SourceAttribute();
}
