using Microsoft.Playwright;

namespace PhiMailGateway.Tests.PickupWeb.Browser;

/// <summary>
/// One headless Chromium (Debian's <c>chromium</c> package) for every browser test, started on
/// first use and closed after the last. Playwright's own browser download is never used: it cannot
/// work offline, and the flags below keep Chromium off the network it would otherwise probe.
/// </summary>
[SetUpFixture]
public sealed class SharedBrowser
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static IPlaywright? _playwright;
    private static IBrowser? _browser;
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<IBrowser> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_browser is not null) return _browser;
            if (!File.Exists(ChromiumPath))
                Assert.Fail($"{ChromiumPath} is missing: install Debian's chromium package (scripts/test.sh does).");
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args =
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                ],
            });
            return _browser;
        }
        finally
        {
            Gate.Release();
        }
    }

    [OneTimeTearDown]
    public async Task CloseAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
        _browser = null;
        _playwright = null;
    }
}
