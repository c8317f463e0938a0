using System.Diagnostics;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// An independent DKIM verifier: Debian's python3-dkim (dkimpy, installed by scripts/test.sh), whose
/// key lookup answers with the one TXT record the test publishes. It is not MimeKit, so a signature
/// both accept is a signature recipients' servers accept.
/// </summary>
public static class DkimVerifier
{
    public sealed record Result(bool Passed, string Output);

    private const string Script = """
        import logging, sys
        import dkim

        message_path, record_name, record_value = sys.argv[1], sys.argv[2], sys.argv[3]
        looked_up = []

        def dnsfunc(name, timeout=5):
            name = name.decode("ascii") if isinstance(name, bytes) else name
            looked_up.append(name)
            return record_value.encode("ascii") if name.rstrip(".").lower() == record_name.lower() else None

        logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(message)s")
        with open(message_path, "rb") as f:
            message = f.read()
        passed = dkim.verify(message, logger=logging.getLogger("dkim"), dnsfunc=dnsfunc)
        print("looked up: " + ", ".join(looked_up))
        print("PASS" if passed else "FAIL")
        sys.exit(0 if passed else 1)
        """;

    /// <summary>Verifies the first DKIM-Signature of <paramref name="message"/> against the TXT value published at <paramref name="recordName"/>.</summary>
    public static Result Verify(byte[] message, string recordName, string recordValue)
    {
        var folder = Path.Combine(Path.GetTempPath(), "phimail-dkim-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var script = Path.Combine(folder, "verify.py");
            var eml = Path.Combine(folder, "message.eml");
            File.WriteAllText(script, Script);
            File.WriteAllBytes(eml, message);
            var start = new ProcessStartInfo(Python()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { script, eml, recordName, recordValue }) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(60_000))
            {
                process.Kill();
                Assert.Fail("the DKIM verifier did not finish");
            }
            var text = output.Result + error.Result;
            if (process.ExitCode is not (0 or 1)) Assert.Fail($"the DKIM verifier broke (exit {process.ExitCode}): {text}");
            return new Result(process.ExitCode == 0 && text.Contains("PASS", StringComparison.Ordinal), text);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string? _python;

    /// <summary>The python3 that has dkimpy: Debian's (/usr/bin), not necessarily the first on PATH.</summary>
    private static string Python() => _python ??= new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(HasDkim)
        ?? throw new InvalidOperationException("No python3 with the dkim module: install python3-dkim (scripts/test.sh does).");

    private static bool HasDkim(string python)
    {
        try
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-c", "import dkim" }) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            process.WaitForExit(30_000);
            return process.HasExited && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
