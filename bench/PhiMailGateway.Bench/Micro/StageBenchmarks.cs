using BenchmarkDotNet.Attributes;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.X509;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Bench.Micro;

/// <summary>
/// The stages, called directly on PhiMailGateway.Core, one benchmark method per stage operation
/// (a new stage: one class or method here, listed in MicroMode's BenchmarkSwitcher).
/// </summary>
[MemoryDiagnoser]
public class InspectionBenchmarks
{
    private string _cbct = "";
    private string _panoramic = "";
    private string _scratch = "";

    [GlobalSetup]
    public void Setup()
    {
        _scratch = Directory.CreateTempSubdirectory("phimail-bench-scratch-").FullName;
        // From files, as the gateway reads the spool: MimeKit then parses with the content left on
        // disk (from a MemoryStream it would copy every part into memory, which the gateway never does).
        _cbct = Path.Combine(_scratch, "cbct.eml");
        File.WriteAllBytes(_cbct, MicroContent.Unstuffed("cbct-30m"));
        _panoramic = Path.Combine(_scratch, "panoramic.eml");
        File.WriteAllBytes(_panoramic, MicroContent.Unstuffed("panoramic-5m"));
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_scratch, recursive: true);

    /// <summary>Classification of the 30 MB zipped CBCT message (zip opened from scratch, every DICOM entry's header read).</summary>
    [Benchmark]
    public async Task<bool> Inspect_Cbct30MB()
    {
        await using var file = File.OpenRead(_cbct);
        var report = await new MessageInspector(new InspectionOptions(), _scratch).InspectAsync(file, CancellationToken.None);
        return report.HasDentalImage ? true : throw new InvalidOperationException("CBCT not recognised as a dental image.");
    }

    [Benchmark]
    public async Task<bool> Inspect_Panoramic5MB()
    {
        await using var file = File.OpenRead(_panoramic);
        var report = await new MessageInspector(new InspectionOptions(), _scratch).InspectAsync(file, CancellationToken.None);
        return report.HasDentalImage ? true : throw new InvalidOperationException("Panoramic not recognised as a dental image.");
    }
}

/// <summary>
/// MimeKit's own in-memory S/MIME path (BouncyCastle CMS, AES-256, one RSA recipient) on the
/// message body: not the gateway's stage (see <see cref="SmimeStageBenchmarks"/>), but the baseline the
/// issue asks about ("streaming CMS generator if MimeKit's in-memory path misses the target").
/// </summary>
[MemoryDiagnoser]
public class MimeKitSmimeBaseline
{
    private MimeEntity _entity = null!;
    private CmsRecipientCollection _recipients = null!;
    private TemporarySecureMimeContext _context = null!;

    [Params(5, 30)]
    public int SizeMB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _entity = MicroContent.BodyEntity(SizeMB);
        _recipients = MicroContent.Recipients();
        _context = new TemporarySecureMimeContext();
    }

    [GlobalCleanup]
    public void Cleanup() => _context.Dispose();

    [Benchmark]
    public ApplicationPkcs7Mime MimeKit_Encrypt() => ApplicationPkcs7Mime.Encrypt(_context, _recipients, _entity);
}

/// <summary>
/// The gateway's S/MIME stage (<c>SmimeProtector</c>) on the whole 5 MB panoramic and 30 MB CBCT
/// message bodies, one recipient certificate: parse, plaintext to scratch, streaming CMS, base64
/// into spool/outbound, as MessageProcessor runs it.
/// </summary>
[MemoryDiagnoser]
public class SmimeStageBenchmarks
{
    private StageBed _bed = null!;
    private Protection.Smime.SmimeProtector _protector = null!;
    private Spool.SpoolEntry _entry = null!;
    private InspectionReport _report = null!;
    private Pipeline.MessageHeaders _headers = null!;
    private Protection.ProtectionWork? _work;

    [Params(5, 30)]
    public int SizeMB { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _bed = await StageBed.CreateAsync();
        _protector = await _bed.SmimeProtectorAsync();
        (_entry, _headers, _report) = await _bed.QueueAsync(MicroContent.Unstuffed(MicroContent.ScenarioFor(SizeMB)), [Scenario.SmimeRecipient]);
    }

    [IterationCleanup]
    public void CleanIteration() => _bed.CleanGenerated(_work);

    [GlobalCleanup]
    public void Cleanup() => _bed.Dispose();

    [Benchmark]
    public async Task<int> Smime_Stage()
    {
        _work = StageBed.Work(_entry, _headers, _report);
        var copies = await _protector.ProtectAsync(_work, [StageBed.Decision(Scenario.SmimeRecipient, Routing.RoutingAction.Smime)], CancellationToken.None);
        return copies.Count;
    }
}

/// <summary>The Pickup stage (<c>PickupProtector</c>) on the 30 MB CBCT message: package (encrypted at rest) and notice.</summary>
[MemoryDiagnoser]
public class PickupStageBenchmarks
{
    private StageBed _bed = null!;
    private Protection.Pickup.PickupProtector _protector = null!;
    private Spool.SpoolEntry _entry = null!;
    private InspectionReport _report = null!;
    private Pipeline.MessageHeaders _headers = null!;
    private Protection.ProtectionWork? _work;

    [GlobalSetup]
    public void Setup()
    {
        _bed = StageBed.CreateAsync().GetAwaiter().GetResult();
        _protector = _bed.PickupProtector();
        (_entry, _headers, _report) = _bed.QueueAsync(MicroContent.Unstuffed("cbct-30m"), [Scenario.PickupRecipient]).GetAwaiter().GetResult();
    }

    [IterationCleanup]
    public void CleanIteration() => _bed.CleanGenerated(_work);

    [GlobalCleanup]
    public void Cleanup() => _bed.Dispose();

    [Benchmark]
    public async Task<int> Pickup_Stage_Cbct30MB()
    {
        _work = StageBed.Work(_entry, _headers, _report);
        var copies = await _protector.ProtectAsync(_work, [StageBed.Decision(Scenario.PickupRecipient, Routing.RoutingAction.Pickup)], CancellationToken.None);
        return copies.Count;
    }
}

/// <summary>An audit insert: one hash-chained event (<c>DisclosureLog.AppendAsync</c>), a committed SQLite write each.</summary>
[MemoryDiagnoser]
public class AuditBenchmarks
{
    private const int Batch = 50;
    private StageBed _bed = null!;
    private Audit.DisclosureLog _log = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bed = StageBed.CreateAsync().GetAwaiter().GetResult();
        _log = _bed.DisclosureLog();
    }

    [GlobalCleanup]
    public void Cleanup() => _bed.Dispose();

    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task Audit_Insert()
    {
        for (var i = 0; i < Batch; i++)
            await _log.AppendAsync(new Audit.AuditEvent(Audit.AuditEventTypes.Relayed, "BENCHQ", "BENCHQ-1", Scenario.PlainRecipient, "250 2.0.0 Ok"), CancellationToken.None);
    }
}

/// <summary>The micro-benchmarks' inputs: the load scenarios' messages, without SMTP dot-stuffing.</summary>
public static class MicroContent
{
    public static byte[] Unstuffed(string scenario)
    {
        var stuffed = Scenario.Create(scenario).Template;
        var output = new MemoryStream(stuffed.Length);
        var lineStart = true;
        for (var i = 0; i < stuffed.Length; i++)
        {
            var b = stuffed[i];
            if (lineStart && b == '.' && i + 1 < stuffed.Length && stuffed[i + 1] == '.') { lineStart = false; continue; }
            output.WriteByte(b);
            lineStart = b == '\n';
        }
        return output.ToArray();
    }

    public static string ScenarioFor(int sizeMB) => sizeMB >= 30 ? "cbct-30m" : "panoramic-5m";

    /// <summary>The whole body of the 5 MB panoramic or 30 MB CBCT message (text part + attachment): what the S/MIME stage encrypts.</summary>
    public static MimeEntity BodyEntity(int sizeMB)
    {
        var message = MimeMessage.Load(new MemoryStream(Unstuffed(ScenarioFor(sizeMB))));
        return message.Body ?? throw new InvalidOperationException("Scenario message has no body.");
    }

    /// <summary>The entity as the bytes a CMS envelope wraps (MIME headers and base64 body, CRLF).</summary>
    public static byte[] EntityBytes(MimeEntity entity)
    {
        var output = new MemoryStream();
        entity.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, output);
        return output.ToArray();
    }

    public static CmsRecipientCollection Recipients()
    {
        var certificate = new X509CertificateParser().ReadCertificate(BenchCertificates.RecipientCertificate.RawData);
        var recipient = new CmsRecipient(certificate) { EncryptionAlgorithms = [EncryptionAlgorithm.Aes256] };
        return [recipient];
    }
}
