using System.Runtime.Versioning;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PhiMailGateway.Ingress;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>Start-up (certificate, configuration errors) and what the client hears when storage fails.</summary>
public class IngressStartupAndStorageTests
{
    private static readonly Dictionary<string, string?> Trusted = new() { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" };

    // Removes the test kit's shared certificate, so the gateway generates its own as in production.
    private static readonly Dictionary<string, string?> NoCertificateConfigured = new() { ["Smtp:CertificatePath"] = null };

    [Test]
    [UnsupportedOSPlatform("windows")]
    public async Task TlsCertificate_NoneConfigured_GeneratedOnceOwnerOnlyAndReusedOnRestart()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "phimail-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            string firstThumbprint;
            await using (var gw = await TestGateway.StartIngressOnlyAsync(NoCertificateConfigured, dataDirectory: dataDirectory))
            {
                await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
                await client.EhloAsync();
                SmtpTestClient.Expect(await client.StartTlsAsync(), 220, "STARTTLS with the generated certificate");
                firstThumbprint = gw.Services.GetRequiredService<TlsCertificateProvider>().GetCertificate().Thumbprint;
            }

            var pfx = Path.Combine(dataDirectory, "tls", "smtp.pfx");
            Assert.That(File.Exists(pfx), Is.True);
            Assert.That(File.GetUnixFileMode(pfx), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "private key file is 0600");
            Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(pfx)!),
                Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), "its folder is 0700");

            using var onDisk = X509CertificateLoader.LoadPkcs12FromFile(pfx, password: null);
            Assert.That(onDisk.Thumbprint, Is.EqualTo(firstThumbprint));
            Assert.That(onDisk.GetNameInfo(X509NameType.DnsName, false), Is.EqualTo(TestGateway.HostName));
            var san = onDisk.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.That(san.EnumerateDnsNames(), Is.EquivalentTo(new[] { TestGateway.HostName, "localhost" }));
            Assert.That(san.EnumerateIPAddresses().Select(a => a.ToString()), Is.EquivalentTo(new[] { "127.0.0.1" }));
            var eku = onDisk.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
            Assert.That(eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value), Does.Contain("1.3.6.1.5.5.7.3.1"), "serverAuth");
            Assert.That(onDisk.NotAfter - onDisk.NotBefore, Is.GreaterThan(TimeSpan.FromDays(700)), "two years");

            await using (var again = await TestGateway.StartIngressOnlyAsync(NoCertificateConfigured, dataDirectory: dataDirectory))
            {
                Assert.That(again.Services.GetRequiredService<TlsCertificateProvider>().GetCertificate().Thumbprint, Is.EqualTo(firstThumbprint),
                    "a restart reuses the certificate, so clients that accepted it keep working");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Test]
    public async Task TlsCertificate_ConfiguredPfx_IsUsedForStartTls()
    {
        var dir = Directory.CreateTempSubdirectory("phimail-cert-");
        try
        {
            var pfxPath = Path.Combine(dir.FullName, "practice.pfx");
            using (var generated = X509CertificateLoader.LoadPkcs12(TlsCertificateProvider.CreateSelfSigned("mail.practice.test", DateTimeOffset.UtcNow), null))
                await File.WriteAllBytesAsync(pfxPath, generated.Export(X509ContentType.Pfx, "s3cret"));

            await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
            {
                ["Smtp:CertificatePath"] = pfxPath,
                ["Smtp:CertificatePassword"] = "s3cret",
            });

            var certificate = gw.Services.GetRequiredService<TlsCertificateProvider>().GetCertificate();
            Assert.That(certificate.GetNameInfo(X509NameType.DnsName, false), Is.EqualTo("mail.practice.test"));
            Assert.That(File.Exists(Path.Combine(gw.DataDirectory, "tls", "smtp.pfx")), Is.False, "nothing generated when IT supplied one");
            await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
            await client.EhloAsync();
            Assert.That((await client.StartTlsAsync()).Code, Is.EqualTo(220));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Store_IncomingFolderReplacedByFile_Returns451AndNothingIsQueued()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted);
        // Tests run as root, so chmod would not stop the write; a file where the folder should be makes the rename fail.
        Directory.Delete(gw.Spool.Incoming);
        await File.WriteAllTextAsync(gw.Spool.Incoming, "not a folder");
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>");
        await client.CommandAsync("RCPT TO:<lab@lab.test>");

        var reply = await client.DataAsync(SmtpIngressTests.Message());
        var noop = await client.CommandAsync("NOOP");

        Assert.That(reply.Code, Is.EqualTo(451), $"transient: the client keeps the message and retries: {reply}");
        Assert.That(reply.Text, Does.StartWith("4.3.0 "));
        Assert.That(noop.Code, Is.EqualTo(250), "session stays usable");
        Assert.That(Directory.GetFiles(gw.Spool.Temp), Is.Empty, "the temp file was removed");
        Assert.That(await gw.QueueRowCountAsync(), Is.Zero);
    }

    [Test]
    public async Task Store_AcceptorThrows_Returns451NotPermanent554()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted, services =>
            services.AddSingleton<PhiMailGateway.Spool.IMessageAcceptor, ThrowingAcceptor>());
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>");
        await client.CommandAsync("RCPT TO:<lab@lab.test>");

        var reply = await client.DataAsync(SmtpIngressTests.Message());

        Assert.That(reply.Code, Is.EqualTo(451), reply.ToString());
    }

    [TestCase("Smtp:Port", "abc")]
    [TestCase("Smtp:TrustedNetworks:0", "nonsense")]
    [TestCase("Smtp:MaxMessageBytes", "12")]
    [TestCase("Smtp:AuthFailureDelay", "00:05:00")]
    [TestCase("Smtp:AuthCacheLifetime", "-00:00:01")]
    [TestCase("Smtp:AuthCacheLifetime", "1.00:00:01")]
    public void Startup_BadConfigurationValue_ThrowsNamingTheKey(string key, string value)
    {
        var e = Assert.CatchAsync<Exception>(async () =>
        {
            await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { [key] = value });
        });

        var message = e is OptionsValidationException v ? string.Join("\n", v.Failures) : e!.Message;
        Assert.That(message, Does.Contain(key), $"the error names the key IT has to fix: {message}");
    }

    [Test]
    public async Task Startup_PortAlreadyInUse_Throws()
    {
        var blocker = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)blocker.LocalEndpoint).Port;
            Assert.CatchAsync<Exception>(async () =>
            {
                await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }, "start-up fails instead of running without a listener");
        }
        finally
        {
            blocker.Stop();
        }
        await Task.CompletedTask;
    }

    private sealed class ThrowingAcceptor : PhiMailGateway.Spool.IMessageAcceptor
    {
        public Task<PhiMailGateway.Spool.AcceptResult> AcceptAsync(PhiMailGateway.Spool.Envelope envelope, System.Buffers.ReadOnlySequence<byte> message, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("simulated bug");
    }
}
