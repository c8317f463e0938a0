using System.Net;
using System.Text;
using MimeKit;
using PhiMailGateway.Audit;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

/// <summary>The recipient's page over HTTP, against one running gateway shared by the tests of this class.</summary>
public class PickupPageTests
{
    private PickupTestBed _bed = null!;
    private static int _next;

    private static string NewRecipient() => $"patient{Interlocked.Increment(ref _next)}@home.example";

    [OneTimeSetUp]
    public async Task StartAsync() => _bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Pickup:MaxDownloads"] = "3" });

    [OneTimeTearDown]
    public async Task StopAsync() => await _bed.DisposeAsync();

    [Test]
    public async Task PickupPage_UnknownToken_Returns404Page()
    {
        using var client = _bed.Client();
        var response = await client.GetAsync("/p/" + new string('A', 43));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("We can’t find these files"));
        var garbage = await client.GetAsync("/p/not-a-token");
        Assert.That(garbage.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var nowhere = await client.GetAsync("/no/such/page");
        Assert.That(nowhere.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await nowhere.Content.ReadAsStringAsync(), Does.Contain("<h1>"), "a page, not an empty body");
    }

    [Test]
    public async Task PickupPage_GetRequests_ChangeNothing()
    {
        var recipient = NewRecipient();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var client = _bed.Client();
        // What a mail scanner does: open every link, follow every redirect, more than once.
        foreach (var path in new[] { "", "/verify", "/files", "/files/0", "/files/0/preview", "/all.zip", "", "/verify" })
        {
            var response = await client.GetAsync($"/p/{delivery.Token}{path}");
            Assert.That((int)response.StatusCode, Is.AnyOf(200, 303), path);
        }
        var landing = await client.GetStringAsync($"/p/{delivery.Token}");
        Assert.That(landing, Does.Contain("Email me a code").And.Contain("Smile Dental").And.Contain("1 file"));
        Assert.That(landing, Does.Not.Contain("bitewing"), "no file name before the recipient proved the address");

        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_codes WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero, "no code issued");
        Assert.That(await _bed.QueryAsync<long>("SELECT download_count + failed_codes FROM pickup_packages WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero);
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_sessions WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero);
        Assert.That(_bed.CodeMailCount(recipient), Is.Zero, "no code mail sent");
        Assert.That(_bed.Audit.For(delivery.PackageId), Is.Empty, "nothing happened that the audit would record");
    }

    [Test]
    public async Task PickupPage_EveryResponse_CarriesSecurityHeaders()
    {
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), NewRecipient());
        using var client = _bed.Client();
        foreach (var path in new[] { "/", "/static/site.css", $"/p/{delivery.Token}", $"/p/{delivery.Token}/verify", $"/p/{delivery.Token}/files", "/p/" + new string('B', 43), "/nothing" })
        {
            var response = await client.GetAsync(path);
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.That(csp, Does.Contain("default-src 'self'").And.Contain("frame-ancestors 'none'").And.Contain("script-src 'none'"), path);
            Assert.That(response.Headers.GetValues("X-Content-Type-Options"), Is.EqualTo(new[] { "nosniff" }), path);
            Assert.That(response.Headers.GetValues("Referrer-Policy"), Is.EqualTo(new[] { "no-referrer" }), path);
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True, path);
            Assert.That(response.Headers.Contains("Strict-Transport-Security"), Is.False, $"{path}: no HSTS over plain http");
            Assert.That(response.Headers.Contains("Server"), Is.False, path);
        }
        var page = await client.GetStringAsync($"/p/{delivery.Token}");
        Assert.That(page, Does.Not.Contain("<script").And.Not.Contain("style=").And.Not.Contain("<style"), "no inline script or style");
        Assert.That(page, Does.Not.Contain("http://").And.Not.Contain("https://"), "nothing loaded from elsewhere");
    }

    [Test]
    public async Task PickupPage_PostWithoutAntiforgeryToken_Returns400AndSendsNoCode()
    {
        var recipient = NewRecipient();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var client = _bed.Client();
        await client.GetAsync($"/p/{delivery.Token}"); // has the anti-forgery cookie, but posts no token
        var noToken = await client.PostAsync($"/p/{delivery.Token}/code", new FormUrlEncodedContent([]));
        Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await noToken.Content.ReadAsStringAsync(), Does.Contain("This page has expired"));

        using var other = _bed.Client(); // a token from another browser does not fit this one's cookie
        var page = await other.GetStringAsync($"/p/{delivery.Token}");
        var foreign = System.Text.RegularExpressions.Regex.Match(page, "name=\"__af\" value=\"([^\"]+)\"").Groups[1].Value;
        var wrongCookie = await client.PostAsync($"/p/{delivery.Token}/verify", new FormUrlEncodedContent([new("__af", WebUtility.HtmlDecode(foreign)), new("code", "123456")]));
        Assert.That(wrongCookie.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));

        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_codes WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero);
        Assert.That(await _bed.QueryAsync<long>("SELECT failed_codes FROM pickup_packages WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero, "a forged post is not even a guess");
    }

    [Test]
    public async Task PickupPage_WrongCodeFiveTimes_LocksThePackageWith429()
    {
        var recipient = NewRecipient();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var client = _bed.Client();
        var sent = await PickupTestBed.SubmitFormAsync(client, $"/p/{delivery.Token}", $"/p/{delivery.Token}/code");
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        var code = await _bed.WaitForCodeAsync(recipient);
        var wrong = code == "000000" ? "000001" : "000000";

        for (var i = 1; i <= 4; i++)
        {
            var response = await PickupTestBed.SubmitFormAsync(client, $"/p/{delivery.Token}/verify", $"/p/{delivery.Token}/verify", ("code", wrong));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"wrong code {i}");
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain($"try {5 - i} more"));
        }
        var fifth = await PickupTestBed.SubmitFormAsync(client, $"/p/{delivery.Token}/verify", $"/p/{delivery.Token}/verify", ("code", wrong));
        Assert.That(fifth.StatusCode, Is.EqualTo((HttpStatusCode)429));
        Assert.That(await fifth.Content.ReadAsStringAsync(), Does.Contain("Too many wrong codes").And.Contain("locked"));

        // Locked: even the right code does not open it, and the page says so.
        var landing = await client.GetAsync($"/p/{delivery.Token}");
        Assert.That(landing.StatusCode, Is.EqualTo((HttpStatusCode)429));
        var page = await client.GetAsync($"/p/{delivery.Token}/verify");
        Assert.That(page.StatusCode, Is.EqualTo((HttpStatusCode)429));
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_sessions WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero);
        var result = await _bed.Codes.CheckCodeAsync(delivery.PackageId, code, CancellationToken.None);
        Assert.That(result.Outcome, Is.EqualTo(PhiMailGateway.Protection.Pickup.CodeCheck.Locked));
    }

    [Test]
    public async Task PickupPage_ReplayedCode_IsRefused()
    {
        var recipient = NewRecipient();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var first = _bed.Client();
        await _bed.SignInAsync(first, delivery, recipient);
        var code = await _bed.WaitForCodeAsync(recipient);

        using var second = _bed.Client();
        var replay = await PickupTestBed.SubmitFormAsync(second, $"/p/{delivery.Token}/verify", $"/p/{delivery.Token}/verify", ("code", code));
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a used code does not work again");
        Assert.That(replay.Headers.Contains("Set-Cookie") && replay.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("pickup_session", StringComparison.Ordinal)), Is.False);
        var files = await second.GetAsync($"/p/{delivery.Token}/files");
        Assert.That(files.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), "no session for the replayer");

        var signedIn = await first.GetAsync($"/p/{delivery.Token}/files");
        Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the first browser stays signed in");
        var events = _bed.Audit.For(delivery.PackageId).Select(e => e.Type).ToList();
        Assert.That(events, Does.Contain(AuditEventTypes.PickupCodeSent).And.Contain(AuditEventTypes.PickupVerified).And.Contain(AuditEventTypes.PickupViewed));
    }

    [Test]
    public async Task PickupPage_SessionCookie_IsHttpOnlyStrictAndScopedToThePackage()
    {
        var recipient = NewRecipient();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var client = _bed.Client();
        await PickupTestBed.SubmitFormAsync(client, $"/p/{delivery.Token}", $"/p/{delivery.Token}/code");
        var code = await _bed.WaitForCodeAsync(recipient);
        var verified = await PickupTestBed.SubmitFormAsync(client, $"/p/{delivery.Token}/verify", $"/p/{delivery.Token}/verify", ("code", code));
        var cookie = verified.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("pickup_session=", StringComparison.Ordinal));
        Assert.That(cookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=strict").IgnoreCase.And.Contain($"path=/p/{delivery.Token}").And.Contain("max-age=1800"));
        var value = cookie.Split(';')[0]["pickup_session=".Length..];
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_sessions WHERE session_hash = @value", new { value }), Is.Zero, "only a hash of the session id is stored");
    }

    [Test]
    public async Task PickupPage_DownloadCap_Returns410OnceUsedUp()
    {
        var recipient = NewRecipient();
        var image = DentalCorpus.PanoramicJpeg();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(image), recipient);
        using var client = _bed.Client();
        await _bed.SignInAsync(client, delivery, recipient);

        var preview = await client.GetAsync($"/p/{delivery.Token}/files/0/preview");
        Assert.That(preview.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(preview.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/jpeg"));
        Assert.That(preview.Content.Headers.ContentDisposition?.DispositionType, Is.EqualTo("inline"));
        for (var i = 1; i <= 3; i++)
        {
            var download = await client.GetAsync($"/p/{delivery.Token}/files/0");
            Assert.That(download.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"download {i} of 3");
            Assert.That(await download.Content.ReadAsByteArrayAsync(), Is.EqualTo(image));
            Assert.That(download.Content.Headers.ContentDisposition?.DispositionType, Is.EqualTo("attachment"));
        }
        var fourth = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(fourth.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        Assert.That(await fourth.Content.ReadAsStringAsync(), Does.Contain("used up").And.Contain("Smile Dental"));
        var landing = await client.GetAsync($"/p/{delivery.Token}");
        Assert.That(landing.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        var downloads = _bed.Audit.For(delivery.PackageId).Where(e => e.Type == AuditEventTypes.PickupDownloaded).ToList();
        Assert.That(downloads, Has.Count.EqualTo(3));
        Assert.That(downloads.Select(d => d.FileSha256), Is.All.EqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(image)).ToLowerInvariant()));
        Assert.That(downloads.Select(d => d.ClientAddress), Is.All.EqualTo("127.0.0.1"));
        Assert.That(downloads.Select(d => d.Recipient), Is.All.EqualTo(recipient));
    }

    [Test]
    public async Task PickupPage_DownloadAll_StreamsAZipOfEveryFile()
    {
        var recipient = NewRecipient();
        var dicom = DentalCorpus.Dicom();
        var photo = DentalCorpus.IntraoralPhotoJpeg();
        var message = PickupTestBed.Message("Referral", ("left.dcm", dicom, "application/dicom"), ("photo.jpg", photo, "image/jpeg"));
        var delivery = await _bed.SendAsync(message, recipient);
        Assert.That(delivery.Parsed.TextBody, Does.Contain("2 files"));
        using var client = _bed.Client();
        await _bed.SignInAsync(client, delivery, recipient);
        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain("left.dcm").And.Contain("photo.jpg").And.Contain("DICOM image").And.Contain("JPEG image"));

        var zip = await client.GetAsync($"/p/{delivery.Token}/all.zip");
        Assert.That(zip.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var archive = new System.IO.Compression.ZipArchive(new MemoryStream(await zip.Content.ReadAsByteArrayAsync()));
        var entries = archive.Entries.ToDictionary(e => e.Name, e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        });
        Assert.That(entries.Keys, Is.EquivalentTo(new[] { "left.dcm", "photo.jpg" }));
        Assert.That(entries["left.dcm"], Is.EqualTo(dicom));
        Assert.That(entries["photo.jpg"], Is.EqualTo(photo));
    }

    /// <summary>Every character the page and the download must not carry: bidi controls, zero-width and other format characters, controls.</summary>
    private static readonly string[] InvisibleCharacters =
        ["\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\u200E", "\u200F", "\u061C", "\u200B", "\uFEFF", "\u0007"];

    [Test]
    public async Task PickupPage_RightToLeftOverrideInAttachmentName_ShownAndDownloadedWithoutIt()
    {
        var recipient = NewRecipient();
        var image = DentalCorpus.PanoramicJpeg();
        // Displayed as "invoiceexe.jpg" by anything that honours the override; it is an .exe.
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(image, "invoice\u202Egpj.exe"), recipient);
        using var client = _bed.Client();
        await _bed.SignInAsync(client, delivery, recipient);

        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain(">invoicegpj.exe<"), "the name on the page, override removed");
        foreach (var ch in InvisibleCharacters)
            Assert.That(list.Contains(ch, StringComparison.Ordinal), Is.False, $"U+{(int)ch[0]:X4} must not reach the page");
        Assert.That(list, Does.Not.Contain("&#8238;").And.Not.Contain("&#x202E;").IgnoreCase, "nor encoded as an entity");

        var download = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(download.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var disposition = download.Content.Headers.ContentDisposition!;
        Assert.That(disposition.FileNameStar, Is.EqualTo("invoicegpj.exe"), "filename* (RFC 5987), what browsers save under");
        Assert.That(disposition.FileName?.Trim('"'), Is.EqualTo("invoicegpj.exe"), "the ASCII filename fallback");
        Assert.That(await download.Content.ReadAsByteArrayAsync(), Is.EqualTo(image), "the file itself is unchanged");

        var zip = await client.GetAsync($"/p/{delivery.Token}/all.zip");
        using var archive = new System.IO.Compression.ZipArchive(new MemoryStream(await zip.Content.ReadAsByteArrayAsync()));
        Assert.That(archive.Entries.Select(e => e.FullName), Is.EqualTo(new[] { "invoicegpj.exe" }), "the zip entry too");
    }

    [Test]
    public async Task PickupPage_AttachmentNameOfOnlyFormatCharacters_FallsBackToANumberedName()
    {
        var recipient = NewRecipient();
        var image = DentalCorpus.PanoramicJpeg();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(image, string.Concat(InvisibleCharacters.Where(c => c != "\u0007")) + " "), recipient);
        using var client = _bed.Client();
        await _bed.SignInAsync(client, delivery, recipient);

        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain(">file-1.jpg<"), "nothing visible was left: a numbered name with the detected type's extension");
        var download = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(download.Content.Headers.ContentDisposition?.FileNameStar, Is.EqualTo("file-1.jpg"));
    }

    [Test]
    public async Task PickupPage_PackageSealedWithABidiNameBeforeTheFix_IsShownAndDownloadedWithoutIt()
    {
        var recipient = NewRecipient();
        var image = DentalCorpus.PanoramicJpeg();
        // Straight into the store, as packaging sealed names before it cleaned them: the page must clean what it reads.
        var created = await _bed.Store.CreateAsync(PhiMailGateway.Spool.QueueId.New(DateTimeOffset.UtcNow), recipient, "office@smiledental.example",
            PhiMailGateway.Protection.Pickup.PickupScope.Attachments,
            [new PhiMailGateway.Protection.Pickup.PackageSource("scan\u202Egnp.exe", "image/jpeg", (s, ct) => s.WriteAsync(image, ct).AsTask())],
            CancellationToken.None);
        var delivery = new PickupDelivery(null!, null!, $"{_bed.BaseUrl}/p/{created.Token}", created.Token, created.PackageId);
        using var client = _bed.Client();
        await _bed.SignInAsync(client, delivery, recipient);

        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain(">scangnp.exe<"));
        Assert.That(list.Contains('\u202E', StringComparison.Ordinal), Is.False, "U+202E must not reach the page");
        var download = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(download.Content.Headers.ContentDisposition?.FileNameStar, Is.EqualTo("scangnp.exe"));
        Assert.That(await download.Content.ReadAsByteArrayAsync(), Is.EqualTo(image));
    }

    [Test]
    public async Task PickupRevoke_Cli_MakesTheLinkReturn410AtOnce()
    {
        var recipient = NewRecipient();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var client = _bed.Client();
        await _bed.SignInAsync(client, delivery, recipient);

        var config = new[] { $"--Gateway:DataDirectory={_bed.Gateway.DataDirectory}" };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.That(await GatewayCommandLine.RunAsync(["pickup", "revoke", delivery.PackageId, .. config], TextReader.Null, stdout, stderr), Is.Zero, stderr.ToString());
        Assert.That(stdout.ToString(), Does.Contain("Revoked " + delivery.PackageId));

        var files = await client.GetAsync($"/p/{delivery.Token}/files");
        Assert.That(files.StatusCode, Is.EqualTo(HttpStatusCode.Gone), "a signed-in browser loses access too");
        Assert.That(await files.Content.ReadAsStringAsync(), Does.Contain("withdrawn").And.Contain("Smile Dental"));
        Assert.That(_bed.Store.Blobs.ExistingFiles(delivery.PackageId), Is.Empty, "content deleted");
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_packages WHERE package_id = @id AND wrapped_key IS NULL AND state = 'Revoked'", new { id = delivery.PackageId }), Is.EqualTo(1), "the row stays, the key goes");
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM audit_events WHERE package_id = @id AND type = 'PickupRevoked'", new { id = delivery.PackageId }), Is.EqualTo(1), "the revocation is in the audit log");
        var verify = new StringWriter();
        Assert.That(await GatewayCommandLine.RunAsync(["audit", "verify", .. config], TextReader.Null, verify, stderr), Is.Zero, verify + stderr.ToString());

        var list = new StringWriter();
        Assert.That(await GatewayCommandLine.RunAsync(["pickup", "list", .. config], TextReader.Null, list, stderr), Is.Zero);
        Assert.That(list.ToString(), Does.Match($@"{delivery.PackageId}\s+Revoked\*"));
        Assert.That(await GatewayCommandLine.RunAsync(["pickup", "revoke", "pk_nosuchpackage", .. config], TextReader.Null, stdout, stderr), Is.EqualTo(1));
        Assert.That(await GatewayCommandLine.RunAsync(["pickup", "revoke"], TextReader.Null, stdout, stderr), Is.EqualTo(2));
    }

    [Test]
    public async Task PickupProtector_RelayedNotice_HasNoImageBytesNoFileNameNoTagButTheLink()
    {
        var recipient = NewRecipient();
        var image = DentalCorpus.PanoramicJpeg();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(image, "bitewing-TEST^PATIENT.jpg"), recipient);
        var raw = delivery.Notice.Data;
        var text = PickupTestBed.Text(delivery.Notice);

        Assert.That(Contains(raw, image.AsSpan(200, 64)), Is.False, "no raw image bytes");
        Assert.That(text, Does.Not.Contain(Convert.ToBase64String(image.AsSpan(0, 300))), "no base64 image");
        Assert.That(text, Does.Not.Contain("bitewing").And.Not.Contain("TEST^PATIENT.jpg"), "no attachment file name");
        Assert.That(text, Does.Not.Contain("[secure]"), "no subject tag");
        Assert.That(delivery.Parsed.Attachments, Is.Empty);
        Assert.That(delivery.Parsed.Headers.Contains(HeaderId.Bcc), Is.False);

        var body = delivery.Parsed.TextBody!;
        Assert.That(body, Does.Contain("Smile Dental has sent you 1 file securely").And.Contain(delivery.Link).And.Contain("works until"));
        Assert.That(delivery.Parsed.BodyParts.OfType<TextPart>().Where(t => t.IsPlain).Select(t => t.Text), Has.Some.Contain("Please see attached."), "the original text is kept");
        Assert.That(delivery.Parsed.HtmlBody, Does.Contain("Open secure files").And.Contain(delivery.Link));
        Assert.That(delivery.Notice.Recipients, Is.EqualTo(new[] { recipient }), "one copy per recipient");
    }

    [Test]
    public async Task PickupProtector_TwoRecipients_GetTheirOwnPackageAndLink()
    {
        var a = NewRecipient();
        var b = NewRecipient();
        var message = PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()));
        await PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.SubmitAsync(_bed.Gateway, message, a, b);
        var forA = await _bed.WaitForNoticeAsync(a);
        var forB = await _bed.WaitForNoticeAsync(b);
        Assert.That(forA.Notice.Recipients, Is.EqualTo(new[] { a }), "each recipient gets a copy of their own");
        Assert.That(forB.Notice.Recipients, Is.EqualTo(new[] { b }));
        Assert.That(forA.Token, Is.Not.EqualTo(forB.Token));
        Assert.That(forA.PackageId, Is.Not.EqualTo(forB.PackageId));
        Assert.That((await _bed.Store.FindAsync(forA.PackageId, CancellationToken.None))!.Recipient, Is.EqualTo(a));
        Assert.That((await _bed.Store.FindAsync(forB.PackageId, CancellationToken.None))!.Recipient, Is.EqualTo(b));
    }

    private static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    internal static string Utf8(byte[] b) => Encoding.UTF8.GetString(b);
}
