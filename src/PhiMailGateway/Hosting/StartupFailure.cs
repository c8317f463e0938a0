using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PhiMailGateway.Hosting;

/// <summary>
/// The start-up failures IT can fix, said in one line that names the setting or the file and line:
/// a configuration file that is not valid JSON, a port another program holds, a certificate that
/// does not open, a required part the gateway was composed without. Anything else is not described here and stays an unexpected error.
/// </summary>
public static partial class StartupFailure
{
    /// <returns>The line to print (without the "Configuration error:" or "Start-up error:" prefix decided here), or null.</returns>
    public static string? Describe(Exception error)
    {
        switch (error)
        {
            case MissingPartException missing:
                return $"Start-up error: {FirstLine(missing.Message)}";
            case AggregateException { InnerExceptions.Count: > 0 } aggregate:
                return aggregate.InnerExceptions.Select(Describe).FirstOrDefault(d => d is not null);
            case InvalidDataException { InnerException: { } inner } data when FailedFile().Match(data.Message) is { Success: true } file:
                return $"Configuration error: {file.Groups["path"].Value}: {JsonProblem(inner)}";
            case IOException { InnerException: { } inner } io when IsAddressInUse(inner) || io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase):
                // Kestrel's message names the URL it tried: that is the pickup page's listener.
                return $"Start-up error: Pickup:Port: {io.Message.TrimEnd('.')} (another program, or a second gateway, holds it).";
            case SocketException socket when IsAddressInUse(socket):
                return "Start-up error: Smtp:Port (or Smtp:ImplicitTlsPort): the address is already in use (another program, or a second gateway, holds it).";
            case InvalidOperationException op when SettingPrefix().IsMatch(op.Message):
                return $"Configuration error: {FirstLine(op.Message)}";
            default:
                return error.InnerException is { } nested ? Describe(nested) : null;
        }
    }

    /// <summary>Where and what: "line 3, position 5: not valid JSON: …".</summary>
    internal static string JsonProblem(Exception inner)
    {
        for (var e = inner; e is not null; e = e.InnerException)
        {
            if (e is JsonException { LineNumber: { } line } json)
            {
                var what = json.Message.Split(" LineNumber:", 2)[0].Trim();
                return $"line {line + 1}, position {(json.BytePositionInLine ?? 0) + 1}: not valid JSON: {what}";
            }
        }
        return $"cannot be read: {FirstLine(inner.Message)}";
    }

    private static bool IsAddressInUse(Exception e) =>
        e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.GetType().Name == "AddressInUseException" || e.InnerException is { } inner && IsAddressInUse(inner);

    private static string FirstLine(string text) => text.ReplaceLineEndings("\n").Split('\n', 2)[0];

    [GeneratedRegex(@"^Failed to load configuration from file '(?<path>[^']+)'")]
    private static partial Regex FailedFile();

    // "Smtp:CertificatePath: cannot open ..." — our own components name the key first.
    [GeneratedRegex(@"^[A-Z][A-Za-z]+:[A-Z][A-Za-z0-9:]*: ")]
    private static partial Regex SettingPrefix();
}
