using PhiMailGateway.Ingress;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// One STARTTLS certificate for every gateway the test run starts, passed in through
/// Smtp:CertificatePath as IT would pass theirs. Without it each gateway generated its own
/// RSA-2048 key on start, the slowest step of a test gateway's start. It is made by the
/// gateway's own generator (<see cref="TlsCertificateProvider.CreateSelfSigned"/>), so it has the
/// shape of a generated one; the tests of generation itself remove the key and generate.
/// </summary>
public static class SharedTlsCertificate
{
    private static readonly Lazy<string> File = new(Write, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Path of the PFX (no password), written on first use and deleted when the test process exits.</summary>
    public static string Path => File.Value;

    private static string Write()
    {
        // Per process: two test runs at once (other worktrees) must not share or delete each other's file.
        var folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"phimail-test-tls-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var path = System.IO.Path.Combine(folder, "smtp.pfx");
        System.IO.File.WriteAllBytes(path, TlsCertificateProvider.CreateSelfSigned(TestGateway.HostName, DateTimeOffset.UtcNow));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return path;
    }
}
