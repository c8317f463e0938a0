using System.Net;
using Microsoft.Extensions.DependencyInjection;
using PhiMailGateway.Audit;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

/// <summary>Expiry, retention and what lies on disk: with a clock the test moves by hand.</summary>
public class PickupRetentionTests
{
    private PickupTestBed _bed = null!;
    private ShiftedTimeProvider _clock = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _clock = new ShiftedTimeProvider();
        _bed = await PickupTestBed.StartAsync(
            new Dictionary<string, string?> { ["Pickup:LinkLifetime"] = "2.00:00:00", ["Pickup:SweepInterval"] = "1.00:00:00" },
            services => services.AddSingleton<TimeProvider>(_clock));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _bed.DisposeAsync();

    [Test]
    public async Task PickupPage_ExpiredLink_Returns410AndRetentionDeletesContentAndKey()
    {
        var recipient = "expiring@home.example";
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        using var client = _bed.Client();
        Assert.That((await client.GetAsync($"/p/{delivery.Token}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(delivery.Parsed.TextBody, Does.Contain(PhiMailGateway.Protection.Pickup.PickupNotice.FormatExpiry(_clock.GetUtcNow().AddDays(2), _bed.Options)[..10]));

        _clock.Advance(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        var expired = await client.GetAsync($"/p/{delivery.Token}");
        Assert.That(expired.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        var page = await expired.Content.ReadAsStringAsync();
        Assert.That(page, Does.Contain("This link has expired").And.Contain("contact Smile Dental"));
        Assert.That(page, Does.Contain("office@smiledental.example").Or.Contain("frontdesk@practice.example"), "whom to contact: the sender when no PracticeContact is set");
        Assert.That(_bed.Store.Blobs.ExistingFiles(delivery.PackageId), Is.Not.Empty, "the GET itself deletes nothing");

        var purged = await _bed.Gateway.Services.GetRequiredService<PickupRetentionSweeper>().SweepAsync(CancellationToken.None);
        Assert.That(purged, Is.GreaterThanOrEqualTo(1));
        Assert.That(_bed.Store.Blobs.ExistingFiles(delivery.PackageId), Is.Empty, "content deleted");
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_packages WHERE package_id = @id AND state = 'Expired' AND wrapped_key IS NULL AND purged_at IS NOT NULL",
            new { id = delivery.PackageId }), Is.EqualTo(1), "the row stays as the record; the key is gone");
        Assert.That(await _bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_files WHERE package_id = @id AND sealed_name IS NOT NULL", new { id = delivery.PackageId }), Is.Zero);
        Assert.That(_bed.Audit.For(delivery.PackageId).Select(e => e.Type), Does.Contain(AuditEventTypes.PickupExpired));
        Assert.That((await client.GetAsync($"/p/{delivery.Token}")).StatusCode, Is.EqualTo(HttpStatusCode.Gone), "still 410 after the purge");
    }

    [Test]
    public async Task PickupPackage_OnDisk_IsOwnerOnlyEncryptedAndNamesNoFile()
    {
        var image = DentalCorpus.IntraoralPhotoJpeg();
        var delivery = await _bed.SendAsync(PickupTestBed.XrayMessage(image, "molar-TEST^PATIENT.jpg"), "ondisk@home.example");
        var options = _bed.Gateway.Services.GetRequiredService<PhiMailGateway.Configuration.GatewayOptions>();

        var keyPath = MasterKey.DefaultPath(options);
        Assert.That(File.GetUnixFileMode(keyPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "master key 0600");
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(keyPath)!), Is.EqualTo(OwnerOnly.DirectoryMode), "keys folder 0700");
        Assert.That(File.GetUnixFileMode(_bed.Store.Blobs.Root), Is.EqualTo(OwnerOnly.DirectoryMode), "pickup folder 0700");
        var files = _bed.Store.Blobs.ExistingFiles(delivery.PackageId);
        Assert.That(files, Has.Count.EqualTo(1));
        Assert.That(File.GetUnixFileMode(files[0]), Is.EqualTo(OwnerOnly.FileMode), "package file 0600");

        var stored = await File.ReadAllBytesAsync(files[0]);
        Assert.That(stored.Length, Is.GreaterThan(image.Length), "ciphertext plus tags");
        for (var offset = 0; offset + 32 <= image.Length; offset += 997)
            Assert.That(stored.AsSpan().IndexOf(image.AsSpan(offset, 32)), Is.EqualTo(-1), $"plaintext bytes at {offset} found in the package file");
        Assert.That(stored.AsSpan().IndexOf(image.AsSpan(0, 4)), Is.EqualTo(-1), "not even the JPEG header");

        foreach (var db in Directory.GetFiles(_bed.Gateway.DataDirectory, "gateway.db*"))
        {
            var bytes = await File.ReadAllBytesAsync(db);
            Assert.That(System.Text.Encoding.UTF8.GetString(bytes), Does.Not.Contain("molar-TEST"), $"{Path.GetFileName(db)}: the file name is sealed");
            Assert.That(System.Text.Encoding.ASCII.GetString(bytes), Does.Not.Contain(delivery.Token), $"{Path.GetFileName(db)}: no token, only its hash");
        }
    }
}
