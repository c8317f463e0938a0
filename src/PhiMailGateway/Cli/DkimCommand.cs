using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using PhiMailGateway.Direct;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>dkim keygen --selector S [--bits 2048] [--force]</c>: writes a new RSA signing key, owner-only, to
/// <c>Direct:Dkim:KeyPath</c> and prints the TXT record IT publishes at <c>S._domainkey.{Direct:Dkim:Domain}</c>.
/// The Direct section is read, not validated: its validator wants the key this verb is about to write.
/// </summary>
internal static class DkimCommand
{
    private const string Expected = "dkim: expected `dkim keygen --selector S [--bits 2048] [--force]`.";

    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        if (Parse(args) is not { } request) return await FailAsync(stderr, Expected);
        if (request.Error is { } error) return await FailAsync(stderr, "dkim keygen: " + error);

        await using var context = CliContext.Create(configArgs);
        var dkim = context.Get<IConfiguration>().GetSection(DirectOptions.Section + ":Dkim").Get<DirectDkimOptions>() ?? new DirectDkimOptions();
        if (string.IsNullOrWhiteSpace(dkim.Domain))
            return await FailAsync(stderr, "dkim keygen: set Direct:Dkim:Domain (the signing domain, such as smiledental.example) first.");
        if (DirectDkimOptions.DomainError(dkim.Domain) is { } domainError) return await FailAsync(stderr, "dkim keygen: " + domainError);
        if (string.IsNullOrWhiteSpace(dkim.KeyPath))
            return await FailAsync(stderr, "dkim keygen: set Direct:Dkim:KeyPath (where the key file goes, such as /var/lib/phimail/dkim/mail2026.pem) first.");
        var path = Path.GetFullPath(dkim.KeyPath.Trim());
        if (File.Exists(path) && !request.Force)
            return await FailAsync(stderr, $"dkim keygen: '{path}' exists; the key published in DNS may be that one. Give --force to replace it.");
        if (Directory.Exists(path))
            return await FailAsync(stderr, $"dkim keygen: Direct:Dkim:KeyPath '{path}' is a folder; it must name the key file.");

        using var rsa = RSA.Create(request.Bits);
        Write(path, rsa);
        var record = TxtRecord(rsa);
        var domain = dkim.NormalizedDomain;
        await stdout.WriteLineAsync($"Wrote a {request.Bits}-bit RSA key to {path} (owner-only).");
        await stdout.WriteLineAsync("Publish this DNS TXT record (split the value into strings of at most 255 characters if your DNS host asks):");
        await stdout.WriteLineAsync($"name:  {DirectDkimOptions.RecordName(request.Selector, domain)}");
        await stdout.WriteLineAsync($"value: {record}");
        if (!string.Equals(dkim.NormalizedSelector, request.Selector, StringComparison.Ordinal))
            await stdout.WriteLineAsync($"Then set Direct:Dkim:Selector={request.Selector} and restart the gateway.");
        return 0;
    }

    /// <summary>The TXT value for <paramref name="rsa"/>'s public key: <c>v=DKIM1; k=rsa; p=</c> and the base64 SubjectPublicKeyInfo (RFC 6376 3.6.1).</summary>
    internal static string TxtRecord(RSA rsa) => "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());

    /// <summary>Owner-only from the first byte (folder too), written beside the target and renamed over it, so a crash leaves the old key or the new one.</summary>
    private static void Write(string path, RSA rsa)
    {
        var folder = Path.GetDirectoryName(path)!;
        OwnerOnly.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = OwnerOnly.CreateNew(temp, 1))
            using (var writer = new StreamWriter(file))
            {
                writer.Write(rsa.ExportPkcs8PrivateKeyPem());
                writer.Write('\n');
                writer.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            DirectorySync.Flush(folder);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static Request? Parse(string[] args)
    {
        if (args.FirstOrDefault() != "keygen") return null;
        string? selector = null;
        string? bits = null;
        var force = false;
        for (var i = 1; i < args.Length; i++)
        {
            var (name, value) = args[i].Split('=', 2) is [var n, var v] ? (n, (string?)v) : (args[i], null);
            if (name == "--force" && value is null)
            {
                force = true;
                continue;
            }
            if (name is not ("--selector" or "--bits")) return null;
            if (value is null)
            {
                if (i + 1 >= args.Length) return null;
                value = args[++i];
            }
            if (name == "--selector") selector = value;
            else bits = value;
        }
        if (selector is null) return new Request("", 0, force, "--selector S is required (the name under _domainkey, such as mail2026).");
        if (DirectDkimOptions.SelectorError(selector) is not null)
            return new Request("", 0, force, $"--selector: must be one DNS label (letters, digits, inner hyphens; at most 63), such as mail2026 (got '{selector}').");
        var size = DirectDkimOptions.RecommendedKeyBits;
        if (bits is not null && (!int.TryParse(bits, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < DirectDkimOptions.MinimumKeyBits or > 4096 || size % 8 != 0))
            return new Request("", 0, force, $"--bits: must be a multiple of 8 from {DirectDkimOptions.MinimumKeyBits} to 4096; {DirectDkimOptions.RecommendedKeyBits} is recommended (got '{bits}').");
        return new Request(selector.Trim().ToLowerInvariant(), size, force, null);
    }

    private static async Task<int> FailAsync(TextWriter stderr, string line)
    {
        await stderr.WriteLineAsync(line);
        return 2;
    }

    private sealed record Request(string Selector, int Bits, bool Force, string? Error);
}
