using Microsoft.Playwright;
using MimeKit;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb.Browser;

/// <summary>The recipient's pages in headless Chromium at phone width: the sender line and DICOM previews (issue 22 item 10).</summary>
[NonParallelizable]
public class PickupRecipientBrowserTests
{
    private static async Task<IBrowserContext> PhoneAsync(IBrowser browser)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 375, Height = 740 },
            IsMobile = true,
            HasTouch = true,
        });
        context.SetDefaultTimeout(60_000);
        return context;
    }

    [Test]
    public async Task LandingPage_At375Px_FromWithoutQuotesAndTheAddressOnOneLineUnbroken()
    {
        var browser = await SharedBrowser.GetAsync();
        await using var bed = await PickupTestBed.StartAsync();
        const string recipient = "patient.sender@home.example";
        var message = PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg());
        message.From.Clear();
        message.From.Add(new MailboxAddress("Smile Dental Front Desk", "frontdesk@smiledental.example"));
        var delivery = await bed.SendAsync(message, recipient);

        await using var context = await PhoneAsync(browser);
        var page = await context.NewPageAsync();
        await page.GotoAsync(delivery.Link);
        var from = page.Locator("dl.facts dd").First;
        var text = (await from.InnerTextAsync()).Trim();
        Assert.That(text, Does.Not.Contain("\"").And.Not.Contain("<").And.Not.Contain(">"), "no quotes or angle brackets");
        Assert.That(text, Does.Contain("Smile Dental Front Desk").And.Contain("frontdesk@smiledental.example"));

        var address = from.Locator(".address");
        // Lines the address's text occupies: one per distinct top of its text's client rectangles.
        var lines = await address.EvaluateAsync<int>("""
            el => { const r = document.createRange(); r.selectNodeContents(el);
                    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }
            """);
        var rects = await address.EvaluateAsync<string>("el => { const r = document.createRange(); r.selectNodeContents(el); return JSON.stringify([...r.getClientRects()].map(x => [x.left, x.top, x.width, x.height])) + ' dd=' + el.parentElement.getBoundingClientRect().width; }");
        Assert.That(lines, Is.EqualTo(1), "the address is not broken across lines at 375 px: " + rects);
        var box = await address.BoundingBoxAsync();
        Assert.That(box!.X + box.Width, Is.LessThanOrEqualTo(375), "and it fits the screen");
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.That(overflow, Is.LessThanOrEqualTo(0), "no sideways scrolling");
    }

    [Test]
    public async Task FilesPage_UncompressedAndJpegBaselineDicom_PreviewsDecodeInChromium()
    {
        var browser = await SharedBrowser.GetAsync();
        var jpeg = await RenderJpegAsync(browser, 640, 480);
        Assert.That(HasBaselineFrame(jpeg), Is.True, "Chromium's canvas writes baseline JPEG (SOF0)");
        await using var bed = await PickupTestBed.StartAsync();
        const string recipient = "patient.dicom@home.example";
        var message = PickupTestBed.Message("Referral",
            ("bitewing-raw.dcm", DentalCorpus.DicomWithPicture(300, 400), "application/dicom"),
            ("bitewing-jpeg.dcm", DentalCorpus.Dicom(rows: 480, columns: 640, pixels: jpeg, jpegBaseline: true), "application/dicom"));
        var delivery = await bed.SendAsync(message, recipient);

        await using var context = await PhoneAsync(browser);
        var page = await context.NewPageAsync();
        var cookies = new System.Net.CookieContainer();
        using var client = bed.Client(cookies);
        await bed.SignInAsync(client, delivery, recipient);
        var session = cookies.GetCookies(new Uri(bed.BaseUrl + $"/p/{delivery.Token}/"))[PhiMailGateway.PickupWeb.PickupEndpoints.SessionCookie]!;
        await context.AddCookiesAsync([new Cookie { Name = session.Name, Value = session.Value, Url = bed.BaseUrl + $"/p/{delivery.Token}" }]);

        await page.GotoAsync($"{bed.BaseUrl}/p/{delivery.Token}/files");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.preview img')].length === 2 && [...document.querySelectorAll('.preview img')].every(i => i.complete)");
        var raw = page.GetByRole(AriaRole.Img, new() { Name = "Preview of bitewing-raw.dcm" });
        var compressed = page.GetByRole(AriaRole.Img, new() { Name = "Preview of bitewing-jpeg.dcm" });
        Assert.That(await raw.EvaluateAsync<int>("i => i.naturalWidth"), Is.EqualTo(400), "the uncompressed X-ray, rendered to PNG");
        Assert.That(await compressed.EvaluateAsync<int>("i => i.naturalWidth"), Is.EqualTo(640), "the JPEG-baseline X-ray");
        Assert.That((await raw.BoundingBoxAsync())!.Width, Is.LessThanOrEqualTo(375), "fits the screen");
        await Assertions.Expect(page.Locator(".opens-with").First).ToContainTextAsync("DICOM viewer");
        await page.ScreenshotAsync(new() { Path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "pickup-dicom-375.png"), FullPage = true });
    }

    private static bool HasBaselineFrame(byte[] jpeg)
    {
        for (var i = 0; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) return true;
        return false;
    }

    private static async Task<byte[]> RenderJpegAsync(IBrowser browser, int width, int height)
    {
        var page = await browser.NewPageAsync();
        try
        {
            var dataUrl = await page.EvaluateAsync<string>($$"""
                () => {
                  const c = document.createElement('canvas');
                  c.width = {{width}}; c.height = {{height}};
                  const g = c.getContext('2d');
                  g.fillStyle = '#202020'; g.fillRect(0, 0, c.width, c.height);
                  g.fillStyle = '#e8e8e8';
                  for (let i = 0; i < 4; i++) { g.beginPath(); g.ellipse(100 + i * 150, c.height / 2, 55, 150, 0, 0, 2 * Math.PI); g.fill(); }
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
}
