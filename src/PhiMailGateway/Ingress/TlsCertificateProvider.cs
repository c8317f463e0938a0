using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The certificate for STARTTLS and the implicit-TLS port. IT's own PFX (Smtp:CertificatePath, its
/// password from the environment as Smtp__CertificatePassword) wins; without one, a self-signed
/// certificate is generated once into <c>&lt;data&gt;/tls/smtp.pfx</c> and reused on later starts, so
/// clients that pinned it keep working. It holds a private key: the folder is 0700 and the file is
/// created 0600 from the start, written to a temp name and renamed so a crash never leaves half a file.
/// A generated certificate that has expired (or expires within a week) is replaced.
/// </summary>
public sealed partial class TlsCertificateProvider(SmtpOptions smtp, GatewayOptions gateway, TimeProvider time, ILogger<TlsCertificateProvider> logger)
{
    private readonly Lock _lock = new();
    private X509Certificate2? _certificate;

    public string GeneratedPath => Path.Combine(gateway.FullDataDirectory, "tls", "smtp.pfx");

    public X509Certificate2 GetCertificate()
    {
        lock (_lock)
        {
            return _certificate ??= Load();
        }
    }

    private X509Certificate2 Load()
    {
        if (smtp.CertificatePath is { Length: > 0 } path)
        {
            try
            {
                var configured = X509CertificateLoader.LoadPkcs12FromFile(path, smtp.CertificatePassword);
                if (!configured.HasPrivateKey)
                    throw new InvalidOperationException($"Smtp:CertificatePath: '{path}' holds no private key.");
                LogLoaded(logger, configured.Thumbprint, configured.NotAfter);
                return configured;
            }
            catch (CryptographicException e)
            {
                throw new InvalidOperationException(
                    $"Smtp:CertificatePath: cannot open '{path}' as a PFX (wrong Smtp:CertificatePassword?): {e.Message}", e);
            }
        }

        var generatedPath = GeneratedPath;
        var folder = Path.GetDirectoryName(generatedPath)!;
        OwnerOnly.CreateDirectory(folder);
        if (File.Exists(generatedPath))
        {
            var existing = X509CertificateLoader.LoadPkcs12FromFile(generatedPath, password: null);
            if (existing.NotAfter.ToUniversalTime() > time.GetUtcNow().UtcDateTime.AddDays(7))
            {
                LogReused(logger, existing.Thumbprint, existing.NotAfter);
                return existing;
            }
            LogExpiring(logger, existing.Thumbprint, existing.NotAfter);
            existing.Dispose();
        }

        var pfx = CreateSelfSigned(gateway.HostName, time.GetUtcNow());
        var temp = generatedPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var file = OwnerOnly.CreateNew(temp))
            {
                file.Write(pfx);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, generatedPath, overwrite: true);
            DirectorySync.Flush(folder);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        var generated = X509CertificateLoader.LoadPkcs12(pfx, password: null);
        LogGenerated(logger, generated.Thumbprint, generated.NotAfter);
        return generated;
    }

    /// <summary>RSA-2048 (what every Outlook version accepts), serverAuth, CN and SAN = host name, localhost and 127.0.0.1; two years.</summary>
    internal static byte[] CreateSelfSigned(string hostName, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={hostName}"), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        if (!string.Equals(hostName, "localhost", StringComparison.OrdinalIgnoreCase)) san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(2));
        return certificate.Export(X509ContentType.Pfx);
    }

    [LoggerMessage(EventId = 1040, Level = LogLevel.Information, Message = "TLS certificate from Smtp:CertificatePath loaded (thumbprint {Thumbprint}, valid until {NotAfter})")]
    private static partial void LogLoaded(ILogger logger, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 1041, Level = LogLevel.Information, Message = "Self-signed TLS certificate reused (thumbprint {Thumbprint}, valid until {NotAfter}); set Smtp:CertificatePath to a certificate the office PCs trust")]
    private static partial void LogReused(ILogger logger, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 1042, Level = LogLevel.Warning, Message = "Self-signed TLS certificate generated (thumbprint {Thumbprint}, valid until {NotAfter}); set Smtp:CertificatePath to a certificate the office PCs trust")]
    private static partial void LogGenerated(ILogger logger, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 1043, Level = LogLevel.Warning, Message = "Self-signed TLS certificate {Thumbprint} expires {NotAfter}; replacing it")]
    private static partial void LogExpiring(ILogger logger, string thumbprint, DateTime notAfter);
}
