using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

/// <summary>Pickup:Scope=WholeMessage, and a large file through the package store.</summary>
public class PickupScopeTests
{
    [Test]
    public async Task PickupProtector_WholeMessageScope_MailCarriesOnlyTheNoticeAndThePageTheMessage()
    {
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Pickup:Scope"] = "WholeMessage" });
        var recipient = "whole@home.example";
        var image = DentalCorpus.PanoramicJpeg();
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(image, "pano.jpg", "Referral for TEST^PATIENT"), recipient);

        Assert.That(delivery.Parsed.Subject, Is.EqualTo("Secure message from Smile Dental"), "the subject may name the patient: it stays in the package");
        var text = PickupTestBed.Text(delivery.Notice);
        Assert.That(text, Does.Not.Contain("TEST^PATIENT").And.Not.Contain("Please see attached").And.Not.Contain("pano.jpg"));
        Assert.That(delivery.Parsed.TextBody, Does.Contain("1 file"));

        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, recipient);
        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain("message.eml").And.Contain("Email message"));
        var eml = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(eml.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var original = await MimeMessage.LoadAsync(await eml.Content.ReadAsStreamAsync());
        Assert.That(original.Subject, Is.EqualTo("Referral for TEST^PATIENT"));
        var attachment = (MimePart)original.Attachments.Single();
        using var decoded = new MemoryStream();
        await attachment.Content!.DecodeToAsync(decoded);
        Assert.That(decoded.ToArray(), Is.EqualTo(image), "the whole message, image included, is on the page");
    }

    [Test]
    public async Task PickupPackageStore_30MegabyteFile_StreamsThroughEncryptionAndBack()
    {
        await using var bed = await PickupTestBed.StartAsync();
        const long size = 30L * 1024 * 1024;
        var expected = await Sha256Async(new PatternStream(size));
        var package = await bed.Store.CreateAsync("Q-TEST", "big@home.example", "office@smiledental.example", PickupScope.Attachments,
            [new PackageSource("series.dcm", "application/dicom", (s, ct) => new PatternStream(size).CopyToAsync(s, ct))], CancellationToken.None);
        var stored = (await bed.Store.FindAsync(package.PackageId, CancellationToken.None))!;
        Assert.That(stored.TotalBytes, Is.EqualTo(size));
        var file = (await bed.Store.FilesAsync(stored, CancellationToken.None)).Single();
        Assert.That(file.Sha256, Is.EqualTo(expected));
        Assert.That(file.Name, Is.EqualTo("series.dcm"));
        await using var plain = bed.Store.OpenFile(stored, 0);
        Assert.That(plain.Length, Is.EqualTo(size));
        Assert.That(await Sha256Async(plain), Is.EqualTo(expected));
    }

    [Test]
    public async Task PickupPackageStore_RecordsInspectionsHash_WhenTheLengthAgrees_AndHashesTheBytesWhenItDoesNot()
    {
        await using var bed = await PickupTestBed.StartAsync();
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000);
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var inspected = Convert.ToHexStringLower(SHA256.HashData("what inspection saw"u8));

        async Task<string> RecordedAsync((long, string) inspection)
        {
            var created = await bed.Store.CreateAsync("Q-TEST", "lab@lab.example", "office@smiledental.example", PickupScope.Attachments,
                [new PackageSource("photo.jpg", "image/jpeg", (s, ct) => s.WriteAsync(bytes, ct).AsTask(), inspection)], CancellationToken.None);
            var stored = (await bed.Store.FindAsync(created.PackageId, CancellationToken.None))!;
            return (await bed.Store.FilesAsync(stored, CancellationToken.None)).Single().Sha256;
        }

        // Inspection hashed these very bytes: its hash is recorded, nothing is hashed twice.
        Assert.That(await RecordedAsync((bytes.Length, inspected)), Is.EqualTo(inspected));
        // A length that differs means other bytes: the packaged bytes are hashed instead.
        Assert.That(await RecordedAsync((bytes.Length + 1, inspected)), Is.EqualTo(actual));
    }

    private static async Task<string> Sha256Async(Stream s)
    {
        using var sha = SHA256.Create();
        return Convert.ToHexString(await sha.ComputeHashAsync(s)).ToLowerInvariant();
    }

    /// <summary>A long, non-repeating-looking byte stream made on the fly, never held in memory.</summary>
    private sealed class PatternStream(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++) buffer[offset + i] = (byte)((_position + i) * 2654435761L >> 13);
            _position += n;
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
