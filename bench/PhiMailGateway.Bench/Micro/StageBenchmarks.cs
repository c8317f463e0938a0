using BenchmarkDotNet.Attributes;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.X509;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Bench.Micro;

/// <summary>
/// The stages, called directly on PhiMailGateway.Core. One benchmark method per stage operation;
/// stages that have not landed yet are listed in <see cref="PendingStages"/> and get their method
/// when they do (see README, "Benchmark").
/// </summary>
[MemoryDiagnoser]
public class InspectionBenchmarks
{
    private byte[] _cbct = [];
    private byte[] _panoramic = [];
    private string _scratch = "";

    [GlobalSetup]
    public void Setup()
    {
        _cbct = MicroContent.Unstuffed("cbct-30m");
        _panoramic = MicroContent.Unstuffed("panoramic-5m");
        _scratch = Directory.CreateTempSubdirectory("phimail-bench-scratch-").FullName;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_scratch, recursive: true);

    /// <summary>Classification of the 30 MB zipped CBCT message (zip opened from scratch, every DICOM entry's header read).</summary>
    [Benchmark]
    public async Task<bool> Inspect_Cbct30MB()
    {
        var report = await new MessageInspector(new InspectionOptions(), _scratch).InspectAsync(new MemoryStream(_cbct, writable: false), CancellationToken.None);
        return report.HasDentalImage ? true : throw new InvalidOperationException("CBCT not recognised as a dental image.");
    }

    [Benchmark]
    public async Task<bool> Inspect_Panoramic5MB()
    {
        var report = await new MessageInspector(new InspectionOptions(), _scratch).InspectAsync(new MemoryStream(_panoramic, writable: false), CancellationToken.None);
        return report.HasDentalImage ? true : throw new InvalidOperationException("Panoramic not recognised as a dental image.");
    }
}

/// <summary>
/// MimeKit's own in-memory S/MIME path (BouncyCastle CMS, AES-256, one RSA recipient) on the
/// attachment entity: not the gateway's stage (that is landing separately), but the baseline the
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
        _entity = MicroContent.AttachmentEntity(SizeMB);
        _recipients = MicroContent.Recipients();
        _context = new TemporarySecureMimeContext();
    }

    [GlobalCleanup]
    public void Cleanup() => _context.Dispose();

    [Benchmark]
    public ApplicationPkcs7Mime MimeKit_Encrypt() => ApplicationPkcs7Mime.Encrypt(_context, _recipients, _entity);
}

/// <summary>Stage operations whose types are not in PhiMailGateway.Core yet: probed by name, reported as skipped.</summary>
public static class PendingStages
{
    public static readonly (string Operation, string[] TypeNames)[] All =
    [
        ("audit insert (one disclosure record)", ["PhiMailGateway.Audit.DisclosureLog", "PhiMailGateway.Audit.SqliteDisclosureLog"]),
        ("pickup packaging of 30 MB", ["PhiMailGateway.Protection.Pickup.PickupProtector", "PhiMailGateway.Protection.Pickup.PickupPackageStore"]),
        ("S/MIME of 5 and 30 MB (the gateway's stage)", ["PhiMailGateway.Protection.Smime.SmimeProtector"]),
    ];

    /// <summary>The first type name found in PhiMailGateway.Core, or null.</summary>
    public static string? Find(string[] typeNames)
    {
        var core = typeof(MessageInspector).Assembly;
        return typeNames.FirstOrDefault(n => core.GetType(n) is not null);
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

    /// <summary>The attachment part of the 5 MB panoramic or 30 MB CBCT message: what an S/MIME stage encrypts.</summary>
    public static MimeEntity AttachmentEntity(int sizeMB)
    {
        var message = MimeMessage.Load(new MemoryStream(Unstuffed(sizeMB >= 30 ? "cbct-30m" : "panoramic-5m")));
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
