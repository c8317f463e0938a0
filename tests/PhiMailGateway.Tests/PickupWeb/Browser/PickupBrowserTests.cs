using Microsoft.Playwright;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Tests.PickupWeb.Browser;

/// <summary>The recipient's whole journey in a real browser at phone width.</summary>
[NonParallelizable]
public class PickupBrowserTests
{
    private const string Recipient = "patient.browser@home.example";

    /// <summary>A real, decodable JPEG made by the browser itself: an intra-oral-photo-sized picture.</summary>
    private static async Task<byte[]> RenderJpegAsync(IBrowser browser)
    {
        var page = await browser.NewPageAsync();
        try
        {
            var dataUrl = await page.EvaluateAsync<string>("""
                () => {
                  const c = document.createElement('canvas');
                  c.width = 1600; c.height = 1200;
                  const g = c.getContext('2d');
                  const grad = g.createRadialGradient(800, 600, 50, 800, 600, 800);
                  grad.addColorStop(0, '#f3d9c9'); grad.addColorStop(1, '#7a2e2e');
                  g.fillStyle = grad; g.fillRect(0, 0, 1600, 1200);
                  g.fillStyle = '#fbfbf5';
                  for (let i = 0; i < 8; i++) { g.beginPath(); g.ellipse(260 + i * 155, 600, 60, 110, 0, 0, 2 * Math.PI); g.fill(); }
                  return c.toDataURL('image/jpeg', 0.9);
                }
                """);
            return Convert.FromBase64String(dataUrl[(dataUrl.IndexOf(',', StringComparison.Ordinal) + 1)..]);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Test]
    public async Task PickupPage_InHeadlessChromiumAtPhoneWidth_CodeThenPreviewThenByteForByteDownload()
    {
        var browser = await SharedBrowser.GetAsync();
        var image = await RenderJpegAsync(browser);
        await using var bed = await PickupTestBed.StartAsync();
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(image, "molar-photo.jpg"), Recipient);

        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 375, Height = 740 },
            IsMobile = true,
            HasTouch = true,
            AcceptDownloads = true,
        });
        // Slow is not wrong: on a 2-core machine shared with other work a step once took just over
        // Playwright's default 30 s; a real fault still fails, only later.
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };

        // 1. The link from the mail.
        var landing = await page.GotoAsync(delivery.Link);
        Assert.That(landing!.Status, Is.EqualTo(200));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("secure files from Smile Dental");
        await AssertFitsAsync(page, "landing");
        Assert.That(bed.CodeMailCount(Recipient), Is.Zero, "opening the link sends nothing");

        // 2. "Email me a code", by keyboard: the button is reachable with Tab and pressed with Enter.
        var button = page.GetByRole(AriaRole.Button, new() { Name = "Email me a code" });
        for (var i = 0; i < 10 && !await button.EvaluateAsync<bool>("b => b === document.activeElement"); i++)
            await page.Keyboard.PressAsync("Tab");
        Assert.That(await button.EvaluateAsync<bool>("b => b === document.activeElement"), Is.True, "the button is reachable by keyboard");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync($"**/p/{delivery.Token}/verify?sent=1");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("We sent a code to p•••@home.example");
        await AssertFitsAsync(page, "code form");

        // 3. The code from the second mail, typed into the labelled field.
        var code = await bed.WaitForCodeAsync(Recipient);
        var field = page.GetByLabel("6-digit code");
        Assert.That(await field.GetAttributeAsync("autocomplete"), Is.EqualTo("one-time-code"));
        Assert.That(await field.GetAttributeAsync("inputmode"), Is.EqualTo("numeric"));
        Assert.That(await field.EvaluateAsync<bool>("f => f === document.activeElement"), Is.True, "the code field has the focus");
        await field.FillAsync(code);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.WaitForURLAsync($"**/p/{delivery.Token}/files");

        // 4. The file list with an inline preview that actually decoded.
        await Expect(page.Locator(".name")).ToHaveTextAsync("molar-photo.jpg");
        await Expect(page.GetByText("JPEG image")).ToBeVisibleAsync();
        var preview = page.GetByRole(AriaRole.Img, new() { Name = "Preview of molar-photo.jpg" });
        await Expect(preview).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('.preview img'); return i && i.complete; }");
        Assert.That(await preview.EvaluateAsync<int>("i => i.naturalWidth"), Is.EqualTo(1600), "the preview shows the picture");
        var box = await preview.BoundingBoxAsync();
        Assert.That(box!.Width, Is.LessThanOrEqualTo(375), "the preview fits the screen");
        await AssertFitsAsync(page, "file list");
        await page.ScreenshotAsync(new() { Path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "pickup-files-375.png"), FullPage = true });

        // 5. Download, byte for byte.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Download molar-photo.jpg" }).ClickAsync());
        Assert.That(download.SuggestedFilename, Is.EqualTo("molar-photo.jpg"));
        var saved = await download.PathAsync();
        Assert.That(await File.ReadAllBytesAsync(saved), Is.EqualTo(image), "the downloaded file is the one the practice sent");

        Assert.That(errors, Is.Empty, "no console errors (CSP violations would show here)");
        var types = bed.Audit.For(delivery.PackageId).Select(e => e.Type).ToList();
        Assert.That(types, Is.SupersetOf(new[] { AuditEventTypes.PickupCodeSent, AuditEventTypes.PickupVerified, AuditEventTypes.PickupViewed, AuditEventTypes.PickupDownloaded }));
        Assert.That(bed.Audit.For(delivery.PackageId).Single(e => e.Type == AuditEventTypes.PickupDownloaded).UserAgent, Does.Contain("Chrome"));
    }

    private static async Task AssertFitsAsync(IPage page, string what)
    {
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.That(overflow, Is.LessThanOrEqualTo(0), $"{what}: no sideways scrolling at 375 px");
        var fontSize = await page.EvaluateAsync<double>("() => parseFloat(getComputedStyle(document.body).fontSize)");
        Assert.That(fontSize, Is.GreaterThanOrEqualTo(16), $"{what}: readable text");
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
