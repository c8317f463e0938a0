using System.Diagnostics;
using System.Globalization;
using System.Text;
using PhiMailGateway.Bench.Content;

namespace PhiMailGateway.Bench.Load;

/// <summary>
/// Postfix's own load generator as the client, so anyone can reproduce a figure with Postfix's
/// tools: `smtp-source -s SESSIONS -m MESSAGES -F FILE` with a new connection per message (its
/// default; `-d` keeps one per session). Every message is the same file, so the sink counts this
/// run's copies of one X-Bench-Id instead of telling them apart; there are no per-message times.
/// No STARTTLS or AUTH: smtp-source has neither.
/// </summary>
public static class SmtpSourceClient
{
    public const string Path = "/usr/sbin/smtp-source";

    /// <summary>Sends and returns when smtp-source has; throws with its output when it fails (it stops at the first refusal).</summary>
    public static async Task<(long Started, long Finished)> SendAsync(int port, Scenario scenario, int sessions, int messages, bool connectionPerMessage,
        string benchId, string workDirectory, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path)) throw new FileNotFoundException($"{Path} not found (Debian's postfix package has it).");
        if (scenario.Recipients.Length != 1) throw new NotSupportedException($"{scenario.Name} has {scenario.Recipients.Length} recipients; the smtp-source client sends to one.");
        var file = System.IO.Path.Combine(workDirectory, "smtp-source-" + Guid.NewGuid().ToString("N")[..8] + ".eml");
        // smtp-source reads the file line by line and sends each line with CRLF, dot-stuffed.
        var text = Encoding.Latin1.GetString(scenario.Template).Replace("\r\n", "\n", StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, $"X-Bench-Id: {benchId}\n{text}", Encoding.Latin1, cancellationToken);
        try
        {
            string[] args =
            [
                "-s", sessions.ToString(CultureInfo.InvariantCulture),
                "-m", messages.ToString(CultureInfo.InvariantCulture),
                "-f", Scenario.Sender,
                "-t", scenario.Recipients[0],
                "-r", "1",
                "-F", file,
                "-M", "bench-client.example",
                .. connectionPerMessage ? Array.Empty<string>() : ["-d"],
                "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            ];
            var started = Stopwatch.GetTimestamp();
            var (code, output) = await Targets.Shell.RunAsync(Path, args, workDirectory);
            var finished = Stopwatch.GetTimestamp();
            if (code != 0) throw new IOException($"smtp-source exit {code}: {output.Split('\n')[0]}");
            return (started, finished);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
