using System.Data;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;
using X509KeyUsageFlags = System.Security.Cryptography.X509Certificates.X509KeyUsageFlags;
using Org.BouncyCastle.Cms;
using PhiMailGateway.Audit;
using PhiMailGateway.Certificates;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;
using PhiMailGateway.Routing;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection.Smime;

/// <summary>
/// S/MIME through the running gateway: Outlook-like submission → inspection finds the X-ray →
/// the rules pick Smime for recipients with a usable certificate → one encrypted copy per recipient
/// to the fake smarthost, opened by openssl as an independent peer.
/// </summary>
public class SmimeEndToEndTests
{
    private const string Lee = "dr.lee@specialist.example";
    private const string Lab = "lab@smilelab.example";
    private const string Colleague = "hygienist@smiledental.example";
    private const string Aes256Cbc = "2.16.840.1.101.3.4.1.42";
    private const string RsaPkcs1 = "1.2.840.113549.1.1.1";
    private const string RsaOaep = "1.2.840.113549.1.1.7";

    /// <summary>Like the defaults, but the image fallback is Relay (Pickup has no protector in this branch) and colleagues get plain mail.</summary>
    private const string RelayFallbackRules = """
        { "Rules": [
          { "Name": "colleague-relay", "When": { "RecipientDomains": [ "smiledental.example" ] }, "Action": "Relay" },
          { "Name": "images-smime", "When": { "HasDentalImage": true, "RecipientHasCertificate": true }, "Action": "Smime" },
          { "Name": "images-fallback", "When": { "HasDentalImage": true }, "Action": "Relay" },
          { "Name": "marked-secure", "When": { "SubjectContains": "[secure]" }, "Action": "Relay" },
          { "Name": "everything-else", "Action": "Relay" }
        ] }
        """;

    private static readonly byte[] Xray = DentalCorpus.Dicom();
    private TempDirectory _files = null!;

    [SetUp]
    public void SetUp() => _files = new TempDirectory();

    [TearDown]
    public void TearDown() => _files.Dispose();

    /// <summary>Keeps what the stages handed the audit, and records it with the real audit log.</summary>
    private sealed class CapturingRecorder : IDisclosureRecorder
    {
        public List<ProcessedMessage> Messages { get; } = [];
        public IDisclosureRecorder? Inner { get; set; }

        public IReadOnlyList<AuditRow> RecordsFor(ProcessedMessage message)
        {
            var rows = Inner!.RecordsFor(message);
            lock (Messages) Messages.Add(message);
            return rows;
        }

        public Task CommittedAsync(CancellationToken cancellationToken) => Inner!.CommittedAsync(cancellationToken);
    }

    private static async Task<(TestGateway Gateway, CapturingRecorder Recorder)> StartAsync(FakeSmtpUpstream upstream, Dictionary<string, string?>? extra = null, string? rules = RelayFallbackRules)
    {
        var settings = RelayEndToEndTests.SmarthostSettings(upstream);
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        var recorder = new CapturingRecorder();
        var gw = await TestGateway.StartAsync(settings, services =>
        {
            services.AddSingleton<IDisclosureRecorder>(sp =>
            {
                recorder.Inner = sp.GetRequiredService<DisclosureLog>();
                return recorder;
            });
            if (rules is not null)
            {
                services.AddSingleton(sp => new RuleSetProvider(
                    Routing.RuleSetParserTests.Json(rules), RoutingStage.KnownImageKinds, sp.GetRequiredService<ILogger<RuleSetProvider>>()));
            }
        });
        await gw.AddUserAsync("frontdesk", "correct horse");
        return (gw, recorder);
    }

    private static Task ImportAsync(TestGateway gw, X509Certificate2 certificate, string? address = null, params byte[][] crls) =>
        gw.Services.GetRequiredService<ICertificateStore>().ImportAsync(
            new CertificateBundle([GatewaySecureMimeContextTests.Bc(certificate)], crls.Select(c => new Org.BouncyCastle.X509.X509Crl(c)).ToList()),
            address, CancellationToken.None);

    private static byte[] MessageTo(string subject, params string[] to)
    {
        var message = DentalCorpus.WithAttachments(("bitewing-left.dcm", Xray, "application/dicom"));
        message.Subject = subject;
        message.To.Clear();
        foreach (var t in to) message.To.Add(MailboxAddress.Parse(t));
        message.Bcc.Add(MailboxAddress.Parse("secret-bcc@smiledental.example"));
        using var s = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, s);
        return s.ToArray();
    }

    /// <summary>Runs <c>openssl cms -decrypt</c> on the relayed bytes; returns the decrypted MIME entity's path.</summary>
    private string OpensslDecrypt(byte[] relayed, X509Certificate2 certificate, string name = "msg")
    {
        var eml = Path.Combine(_files.Path, name + ".eml");
        File.WriteAllBytes(eml, relayed);
        var output = Path.Combine(_files.Path, name + ".decrypted");
        var result = Openssl.Run("cms", "-decrypt", "-in", eml, "-inkey", TestCertificates.WriteKey(Path.Combine(_files.Path, name + ".key"), certificate),
            "-recip", TestCertificates.WritePem(Path.Combine(_files.Path, name + ".crt"), certificate), "-out", output);
        Assert.That(result.ExitCode, Is.EqualTo(0), "openssl cms -decrypt: " + result.Error);
        return output;
    }

    private static byte[] Attachment(MimeEntity entity, string fileName)
    {
        var part = (entity is Multipart multipart ? multipart.OfType<MimePart>() : [(MimePart)entity]).Concat(
                entity is Multipart m2 ? m2.OfType<Multipart>().SelectMany(x => x.OfType<MimePart>()) : [])
            .Single(p => p.FileName == fileName);
        using var s = new MemoryStream();
        part.Content!.DecodeTo(s);
        return s.ToArray();
    }

    private static RecipientInformation[] Recipients(byte[] relayed, out string contentCipher)
    {
        var message = MimeMessage.Load(new MemoryStream(relayed));
        var pkcs7 = (ApplicationPkcs7Mime)message.Body!;
        Assert.That(pkcs7.SecureMimeType, Is.EqualTo(SecureMimeType.EnvelopedData));
        using var der = new MemoryStream();
        pkcs7.Content!.DecodeTo(der);
        var enveloped = new CmsEnvelopedData(der.ToArray());
        contentCipher = enveloped.EncryptionAlgOid;
        return enveloped.GetRecipientInfos().GetRecipients().ToArray();
    }

    /// <summary>No run of the image, raw or as it was base64-encoded in the submitted message, anywhere in what left.</summary>
    private static void AssertNoPlaintextImage(byte[] relayed, byte[] submitted)
    {
        var run = Xray.AsSpan(Xray.Length / 2, 48).ToArray();
        Assert.That(relayed.AsSpan().IndexOf(run), Is.EqualTo(-1), "raw image bytes");
        var submittedText = Encoding.ASCII.GetString(submitted);
        var base64Line = submittedText.Split("\r\n").Where(l => l.Length >= 60 && !l.Contains(' ', StringComparison.Ordinal)).Skip(3).First();
        Assert.That(Encoding.ASCII.GetString(relayed), Does.Not.Contain(base64Line), "the attachment's base64 lines");
        var message = MimeMessage.Load(new MemoryStream(relayed));
        using var der = new MemoryStream();
        ((MimePart)message.Body!).Content!.DecodeTo(der);
        Assert.That(der.ToArray().AsSpan().IndexOf(run), Is.EqualTo(-1), "raw image bytes inside the CMS");
        Assert.That(Encoding.ASCII.GetString(der.ToArray()), Does.Not.Contain(base64Line), "base64 image lines inside the CMS");
        Assert.That(Encoding.ASCII.GetString(relayed), Does.Not.Contain(DentalCorpus.PatientName), "no patient name in clear");
    }

    [Test]
    public async Task Smime_DicomToRecipientWithCertificate_ArrivesEncryptedAndOpensslDecryptsByteForByte()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var (gw, recorder) = await StartAsync(upstream, rules: null); // the shipped default rules
        await using var _ = gw;
        var certificate = TestCertificates.CreateRecipient(Lee, TestCertificates.Ca);
        await ImportAsync(gw, certificate);

        var submitted = MessageTo("Referral [secure] for tomorrow", Lee);
        await RelayEndToEndTests.SubmitAsync(gw, submitted, Lee);

        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        Assert.That(relayed.Recipients, Is.EqualTo(new[] { Lee }));
        var outer = MimeMessage.Load(new MemoryStream(relayed.Data));
        Assert.That(outer.Subject, Is.EqualTo("Referral for tomorrow"), "subject kept, rule tag stripped");
        Assert.That(outer.To.Mailboxes.Single().Address, Is.EqualTo(Lee));
        Assert.That(outer.From.Mailboxes.Single().Address, Is.EqualTo("frontdesk@practice.example"));
        Assert.That(outer.MessageId, Does.StartWith("synthetic-"));
        Assert.That(outer.Date, Is.EqualTo(new DateTimeOffset(2024, 1, 2, 9, 30, 0, TimeSpan.Zero)));
        Assert.That(outer.Headers.Contains(HeaderId.Bcc), Is.False, "Bcc never leaves");
        Assert.That(outer.Body!.ContentType.MimeType, Is.EqualTo("application/pkcs7-mime"));
        Assert.That(outer.Body!.ContentType.Parameters["smime-type"], Is.EqualTo("enveloped-data"));

        var recipients = Recipients(relayed.Data, out var cipher);
        Assert.That(cipher, Is.EqualTo(Aes256Cbc), "AES-256-CBC, not MimeKit's Triple-DES default");
        Assert.That(recipients, Has.Length.EqualTo(1), "encrypted to the recipient only, not to the sender");
        Assert.That(recipients[0].KeyEncryptionAlgOid, Is.EqualTo(RsaPkcs1));
        AssertNoPlaintextImage(relayed.Data, submitted);

        var decrypted = MimeEntity.Load(OpensslDecrypt(relayed.Data, certificate));
        Assert.That(Attachment(decrypted, "bitewing-left.dcm"), Is.EqualTo(Xray), "the X-ray, byte for byte");
        Assert.That(decrypted.ContentType.MimeType, Is.EqualTo("multipart/mixed"), "the whole original body");

        var decision = recorder.Messages.Single().Plan.Decisions[Lee];
        Assert.That(decision.Rule!.Name, Is.EqualTo("images-smime"));
        var copy = recorder.Messages.Single().Copies.Single();
        Assert.That(copy.Reference, Is.EqualTo(CertificateFacts.Thumbprint(GatewaySecureMimeContextTests.Bc(certificate))), "the audit names the certificate");
        Assert.That(Directory.GetFiles(gw.Spool.Scratch), Is.Empty, "no plaintext or envelope left in scratch");
    }

    [Test]
    public async Task Smime_RecipientCertificateFromPlainOpensslReqX509_IsUsedAndOpensslDecrypts()
    {
        // `openssl req -x509` marks its certificate CA:TRUE; it is still the recipient's own (issue 22 item 8).
        var key = Path.Combine(_files.Path, "lee-own.key");
        var pem = Path.Combine(_files.Path, "lee-own.pem");
        var made = Openssl.Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem, "-days", "30",
            "-subj", "/CN=Dr Lee", "-addext", $"subjectAltName=email:{Lee}");
        Assert.That(made.ExitCode, Is.EqualTo(0), made.Error);
        using var certificate = X509Certificate2.CreateFromPemFile(pem, key);

        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var (gw, recorder) = await StartAsync(upstream, rules: null);
        await using var _ = gw;
        await ImportAsync(gw, certificate);
        await RelayEndToEndTests.SubmitAsync(gw, MessageTo("Referral", Lee), Lee);

        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        Assert.That(recorder.Messages.Single().Plan.Decisions[Lee].Rule!.Name, Is.EqualTo("images-smime"));
        var decrypted = MimeEntity.Load(OpensslDecrypt(relayed.Data, certificate, "own"));
        Assert.That(Attachment(decrypted, "bitewing-left.dcm"), Is.EqualTo(Xray));
    }

    [Test]
    public async Task Smime_KeyEncryptionRsaOaep_OpensslDecrypts()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var (gw, _) = await StartAsync(upstream, new() { ["Smime:KeyEncryption"] = "RsaOaep" });
        await using var __ = gw;
        var certificate = TestCertificates.CreateRecipient(Lee);
        await ImportAsync(gw, certificate);

        var submitted = MessageTo("Referral", Lee);
        await RelayEndToEndTests.SubmitAsync(gw, submitted, Lee);

        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        var recipients = Recipients(relayed.Data, out var cipher);
        Assert.That(cipher, Is.EqualTo(Aes256Cbc));
        Assert.That(recipients.Single().KeyEncryptionAlgOid, Is.EqualTo(RsaOaep));
        AssertNoPlaintextImage(relayed.Data, submitted);
        var decrypted = MimeEntity.Load(OpensslDecrypt(relayed.Data, certificate));
        Assert.That(Attachment(decrypted, "bitewing-left.dcm"), Is.EqualTo(Xray));
    }

    [Test]
    public async Task Smime_PracticeSigningCertificate_SignedThenEncryptedAndOpensslVerifies()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var practice = TestCertificates.CreateRecipient("office@smiledental.example", TestCertificates.Ca, otherKey: true,
            usage: X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, commonName: "Smile Dental");
        var pfx = TestCertificates.WritePfx(Path.Combine(_files.Path, "practice.pfx"), practice, "practice-pw");
        var (gw, _) = await StartAsync(upstream, new()
        {
            ["Smime:SigningCertificatePath"] = pfx,
            ["Smime:SigningCertificatePassword"] = "practice-pw",
        });
        await using var __ = gw;
        var certificate = TestCertificates.CreateRecipient(Lee);
        await ImportAsync(gw, certificate);

        var submitted = MessageTo("Referral", Lee);
        await RelayEndToEndTests.SubmitAsync(gw, submitted, Lee);

        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        AssertNoPlaintextImage(relayed.Data, submitted);
        var decryptedPath = OpensslDecrypt(relayed.Data, certificate);
        Assert.That(MimeEntity.Load(decryptedPath), Is.TypeOf<MultipartSigned>(), "signed, then encrypted");

        var content = Path.Combine(_files.Path, "verified.mime");
        var signer = Path.Combine(_files.Path, "signer.pem");
        var ca = TestCertificates.WritePem(Path.Combine(_files.Path, "ca.pem"), TestCertificates.Ca);
        var verify = Openssl.Run("cms", "-verify", "-in", decryptedPath, "-CAfile", ca, "-signer", signer, "-out", content);
        Assert.That(verify.ExitCode, Is.EqualTo(0), "openssl cms -verify: " + verify.Error);
        Assert.That(X509Certificate2.CreateFromPem(File.ReadAllText(signer)).Thumbprint, Is.EqualTo(practice.Thumbprint), "signed by the practice");
        Assert.That(Attachment(MimeEntity.Load(content), "bitewing-left.dcm"), Is.EqualTo(Xray));
    }

    [Test]
    public async Task Smime_ThreeRecipientsTwoCertificates_EachEncryptedCopyOnlyToItsRecipientAndColleagueGetsPlain()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var (gw, recorder) = await StartAsync(upstream);
        await using var _ = gw;
        var lee = TestCertificates.CreateRecipient(Lee);
        var lab = TestCertificates.CreateRecipient(Lab, otherKey: true);
        await ImportAsync(gw, lee);
        await ImportAsync(gw, lab);

        var submitted = MessageTo("Referral", Lee, Lab, Colleague);
        await RelayEndToEndTests.SubmitAsync(gw, submitted, Lee, Lab, Colleague);

        var messages = await upstream.WaitForMessagesAsync(3, TimeSpan.FromSeconds(20));
        Assert.That(messages.Select(m => m.Recipients.Count), Is.All.EqualTo(1), "every copy has one envelope recipient");
        var toLee = messages.Single(m => m.Recipients[0] == Lee);
        var toLab = messages.Single(m => m.Recipients[0] == Lab);
        var toColleague = messages.Single(m => m.Recipients[0] == Colleague);

        Assert.That(Recipients(toLee.Data, out var leeCipher).Single().RecipientID.SerialNumber.ToString(16).ToUpperInvariant().TrimStart('0'),
            Is.EqualTo(lee.SerialNumber.TrimStart('0')), "Lee's copy names Lee's certificate only");
        Assert.That(Attachment(MimeEntity.Load(OpensslDecrypt(toLee.Data, lee, "lee")), "bitewing-left.dcm"), Is.EqualTo(Xray));
        Assert.That(Attachment(MimeEntity.Load(OpensslDecrypt(toLab.Data, lab, "lab")), "bitewing-left.dcm"), Is.EqualTo(Xray));

        var eml = Path.Combine(_files.Path, "cross.eml");
        await File.WriteAllBytesAsync(eml, toLee.Data);
        var cross = Openssl.Run("cms", "-decrypt", "-in", eml, "-inkey", TestCertificates.WriteKey(Path.Combine(_files.Path, "lab2.key"), lab));
        Assert.That(cross.ExitCode, Is.Not.EqualTo(0), "the lab's key cannot open Lee's copy");
        AssertNoPlaintextImage(toLee.Data, submitted);
        AssertNoPlaintextImage(toLab.Data, submitted);

        Assert.That(MimeMessage.Load(new MemoryStream(toColleague.Data)).Attachments.OfType<MimePart>().Single().FileName, Is.EqualTo("bitewing-left.dcm"),
            "the colleague's own rule relays it unchanged");
        var decisions = recorder.Messages.Single().Plan.Decisions;
        Assert.That(decisions[Colleague].Rule!.Name, Is.EqualTo("colleague-relay"));
        Assert.That(decisions[Lee].Rule!.Name, Is.EqualTo("images-smime"));
        Assert.That(decisions[Lab].Rule!.Name, Is.EqualTo("images-smime"));
    }

    [Test]
    public async Task Smime_UnusableCertificates_EachFallsBackToNextRuleWithReasonOnDecision()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var anchor = TestCertificates.WritePem(Path.Combine(_files.Path, "root.pem"), TestCertificates.Ca);
        var (gw, recorder) = await StartAsync(upstream, new() { ["Smime:TrustAnchors:0"] = anchor });
        await using var _ = gw;
        var ca = TestCertificates.Ca;
        var revoked = TestCertificates.CreateRecipient("revoked@specialist.example", ca);
        await ImportAsync(gw, TestCertificates.CreateRecipient("good@specialist.example", ca));
        await ImportAsync(gw, TestCertificates.CreateRecipient("expired@specialist.example", ca,
            notBefore: DateTimeOffset.UtcNow.AddYears(-2), notAfter: DateTimeOffset.UtcNow.AddDays(-1)));
        await ImportAsync(gw, TestCertificates.CreateRecipient("someone.else@elsewhere.example", ca), address: "mismatch@specialist.example");
        await ImportAsync(gw, TestCertificates.CreateRecipient("noenc@specialist.example", ca, usage: X509KeyUsageFlags.DigitalSignature));
        await ImportAsync(gw, TestCertificates.CreateRecipient("untrusted@specialist.example"));
        await ImportAsync(gw, revoked, null, TestCertificates.Crl(ca, revoked));
        var expected = new Dictionary<string, string>
        {
            ["expired@specialist.example"] = "expired",
            ["mismatch@specialist.example"] = "address mismatch",
            ["noenc@specialist.example"] = "no key encipherment usage",
            ["untrusted@specialist.example"] = "untrusted chain",
            ["revoked@specialist.example"] = "revoked",
        };
        string[] all = ["good@specialist.example", .. expected.Keys];

        await RelayEndToEndTests.SubmitAsync(gw, MessageTo("Referral", all), all);

        var messages = await upstream.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        var decisions = recorder.Messages.Single().Plan.Decisions;
        Assert.That(decisions["good@specialist.example"].Rule!.Name, Is.EqualTo("images-smime"));
        foreach (var (recipient, reason) in expected)
        {
            Assert.That(decisions[recipient].Rule!.Name, Is.EqualTo("images-fallback"), recipient);
            Assert.That(decisions[recipient].Certificate?.Reason, Is.EqualTo(reason), recipient);
            Assert.That(decisions[recipient].Trace, Has.Some.Contains($"no usable certificate ({reason})"), recipient);
        }
        Assert.That(messages.Single(m => m.Recipients.Contains("good@specialist.example")).Recipients, Has.Count.EqualTo(1));
        Assert.That(messages.Single(m => !m.Recipients.Contains("good@specialist.example")).Recipients, Is.EquivalentTo(expected.Keys),
            "the fallback rule (Relay in this test) sends them the plain copy; the encrypted copy went to its recipient only");
    }

    [Test]
    public async Task Smime_ExpiredCertificateWithDefaultRules_FallsBackToPickupAndRecordsWhy()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var (gw, recorder) = await StartAsync(upstream, rules: null);
        await using var __ = gw;
        await ImportAsync(gw, TestCertificates.CreateRecipient(Lee, notBefore: DateTimeOffset.UtcNow.AddYears(-2), notAfter: DateTimeOffset.UtcNow.AddDays(-1)));

        await RelayEndToEndTests.SubmitAsync(gw, MessageTo("Referral", Lee), Lee);

        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        var text = Encoding.UTF8.GetString(relayed.Data);
        Assert.That(text, Does.Contain("/p/"), "the recipient gets a pickup link instead");
        Assert.That(text, Does.Not.Contain("application/pkcs7-mime"));
        Assert.That(relayed.Data.AsSpan().IndexOf(Xray.AsSpan(Xray.Length - 64)), Is.EqualTo(-1), "no image bytes leave");
        var decision = recorder.Messages.Single().Plan.Decisions[Lee];
        Assert.That((decision.Rule!.Name, decision.Action), Is.EqualTo(("images-tls-first", RoutingAction.Pickup)), "direct delivery is off: TLS-first is the pickup page");
        Assert.That(decision.Certificate!.Reason, Is.EqualTo("expired"));
    }

    [Test]
    public async Task SmimeAndPickupRecipientsOfOneMessage_EachGetTheirOwnCopy_WithoutBccOrTag()
    {
        // S/MIME hands its parse on to Pickup: the pickup copy must still be built from the original body.
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var (gw, _) = await StartAsync(upstream, rules: null); // the shipped default rules: no certificate → Pickup
        await using var __ = gw;
        var certificate = TestCertificates.CreateRecipient(Lee, TestCertificates.Ca);
        await ImportAsync(gw, certificate);

        var submitted = MessageTo("Referral [secure] for tomorrow", Lee, Lab);
        await RelayEndToEndTests.SubmitAsync(gw, submitted, Lee, Lab);

        var messages = await upstream.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.That(messages, Has.Count.EqualTo(2));
        var encrypted = messages.Single(m => m.Recipients.SequenceEqual([Lee]));
        var notice = messages.Single(m => m.Recipients.SequenceEqual([Lab]));

        var decrypted = MimeEntity.Load(OpensslDecrypt(encrypted.Data, certificate));
        Assert.That(Attachment(decrypted, "bitewing-left.dcm"), Is.EqualTo(Xray), "the X-ray, byte for byte");
        AssertNoPlaintextImage(encrypted.Data, submitted);

        var pickup = MimeMessage.Load(new MemoryStream(notice.Data));
        Assert.That(pickup.Subject, Is.EqualTo("Referral for tomorrow"));
        Assert.That(pickup.Headers.Contains(HeaderId.Bcc), Is.False, "Bcc never leaves");
        Assert.That(pickup.Body!.ContentType.MimeType, Is.Not.EqualTo("application/pkcs7-mime"), "not the envelope S/MIME wrote");
        Assert.That(pickup.BodyParts.OfType<MimePart>().Any(p => p.FileName == "bitewing-left.dcm"), Is.False, "the X-ray went to the package");
        Assert.That(Encoding.UTF8.GetString(notice.Data), Does.Contain("/p/"));
        Assert.That(notice.Data.AsSpan().IndexOf(Xray.AsSpan(Xray.Length / 2, 48)), Is.EqualTo(-1), "no image bytes");
    }
}
