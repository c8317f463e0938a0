using PhiMailGateway.Storage;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using PhiMailGateway.Certificates;
using PhiMailGateway.Protection;
using PhiMailGateway.Protection.Smime;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>certs import FILE [--address ADDR]</c>, <c>certs list</c>, <c>certs remove ADDRESS</c>: the recipient
/// S/MIME certificates the rules' <c>RecipientHasCertificate</c> and the Smime action use.
/// Only <c>Smime:TrustAnchors</c> is read from the Smime section: the signing certificate's password
/// lives in the service's environment, which an IT shell usually does not have.
/// </summary>
internal static class CertsCommand
{
    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        var sub = args.FirstOrDefault();
        string? file = null, address = null, target = null;
        switch (sub)
        {
            case "import" when args.Length == 2:
                file = args[1];
                break;
            case "import" when args.Length == 4 && args[2] == "--address":
                file = args[1];
                address = args[3];
                break;
            case "list" when args.Length == 1:
                break;
            case "remove" when args.Length == 2:
                target = args[1];
                break;
            default:
                return GatewayCommandLine.Usage(stderr, 2, "certs: expected `certs import FILE [--address ADDR]`, `certs list` or `certs remove ADDRESS`.");
        }

        CertificateBundle? bundle = null;
        if (file is not null)
        {
            if (!File.Exists(file))
            {
                await stderr.WriteLineAsync($"certs import: no file '{file}'.");
                return 2;
            }
            try
            {
                bundle = CertificateFile.Read(file);
            }
            catch (CertificateFileException e)
            {
                await stderr.WriteLineAsync($"certs import: {e.Message}");
                return 2;
            }
            if (address is not null && !CertificateFacts.IsAddress(CertificateFacts.NormalizeAddress(address)))
            {
                await stderr.WriteLineAsync($"certs import: '{address}' is not an e-mail address.");
                return 2;
            }
        }

        await using var context = CliContext.Create(configArgs, CliSections.Gateway);
        var anchors = LoadTrustAnchors(context);
        var store = context.Get<ICertificateStore>();
        var now = context.Get<TimeProvider>().GetUtcNow();
        try
        {
            switch (sub)
            {
                case "import":
                    return await ImportAsync(store, bundle!, address, anchors, now, stdout, stderr);
                case "remove":
                    var removed = await store.RemoveAsync(target!, CancellationToken.None);
                    if (removed == 0)
                    {
                        await stderr.WriteLineAsync($"certs remove: no certificate for '{target}'.");
                        return 1;
                    }
                    await stdout.WriteLineAsync($"Removed {removed} certificate{(removed == 1 ? "" : "s")} for {CertificateFacts.NormalizeAddress(target!)}");
                    return 0;
                default:
                    await ListAsync(await store.LoadAllAsync(CancellationToken.None), anchors, now, stdout);
                    return 0;
            }
        }
        catch (CertificateFileException e)
        {
            await stderr.WriteLineAsync($"certs {sub}: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is StorageException or IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"certs {sub}: cannot use the certificate database '{context.Database().Location}': {e.Message}");
            return 1;
        }
    }

    /// <summary><c>Smime:TrustAnchors</c> alone, checked like the service checks it; a bad entry is a configuration error.</summary>
    private static TrustAnchorSet LoadTrustAnchors(CliContext context)
    {
        var paths = context.Get<IConfiguration>().GetSection($"{SmimeOptions.Section}:{nameof(SmimeOptions.TrustAnchors)}").Get<string[]>() ?? [];
        var errors = new List<string>();
        var anchors = TrustAnchorSet.Load(paths, errors);
        return errors.Count == 0 ? anchors : throw new OptionsValidationException(SmimeOptions.Section, typeof(SmimeOptions), errors);
    }

    private static async Task<int> ImportAsync(ICertificateStore store, CertificateBundle bundle, string? address, TrustAnchorSet anchors,
        DateTimeOffset now, TextWriter stdout, TextWriter stderr)
    {
        var result = await store.ImportAsync(bundle, address, CancellationToken.None);
        var snapshot = await store.LoadAllAsync(CancellationToken.None);
        using var smime = new GatewaySecureMimeContext(snapshot, anchors, now);
        foreach (var (stored, isNew) in result.Certificates)
        {
            var c = stored.Certificate;
            var verb = isNew ? "Imported" : "Already known:";
            if (stored.IsAuthority)
            {
                await stdout.WriteLineAsync($"{verb} authority certificate {CertificateFacts.Name(c.SubjectDN)} (used only to build chains)");
                await stdout.WriteLineAsync($"  expires  {Date(c.NotAfter)}    SHA-256 {stored.Thumbprint}");
                await stdout.WriteLineAsync($"  note     no recipient gets S/MIME from this certificate itself: {CertificateFacts.WhyAuthority(c)}.");
                continue;
            }
            await stdout.WriteLineAsync($"{verb} recipient certificate for {string.Join(", ", stored.Addresses)}");
            await stdout.WriteLineAsync($"  subject  {CertificateFacts.Name(c.SubjectDN)}");
            await stdout.WriteLineAsync($"  issuer   {CertificateFacts.Name(c.IssuerDN)}");
            await stdout.WriteLineAsync($"  expires  {Date(c.NotAfter)}");
            await stdout.WriteLineAsync($"  SHA-256  {stored.Thumbprint}");
            foreach (var a in stored.Addresses)
            {
                var reason = smime.Check(c, a);
                await stdout.WriteLineAsync($"  status   {a}: {reason ?? "usable"}");
                if (reason is not null)
                    await stderr.WriteLineAsync($"certs import: warning: the certificate is not usable for {a} ({reason}); mail to it follows the next rule (normally pickup).");
            }
        }
        if (bundle.Crls.Count > 0) await stdout.WriteLineAsync($"Imported {result.NewCrls} CRL{(result.NewCrls == 1 ? "" : "s")} ({result.KnownCrls} already known)");
        return 0;
    }

    private static async Task ListAsync(CertificateSnapshot snapshot, TrustAnchorSet anchors, DateTimeOffset now, TextWriter stdout)
    {
        if (snapshot.Recipients.Count == 0 && snapshot.Authorities.Count == 0)
        {
            await stdout.WriteLineAsync("No certificates.");
            return;
        }
        using var smime = new GatewaySecureMimeContext(snapshot, anchors, now);
        var rows = new List<(string Address, string Status, string Expires, string Thumbprint, string Subject, string Issuer)>();
        foreach (var r in snapshot.Recipients)
        {
            foreach (var a in r.Addresses.DefaultIfEmpty("(none)"))
                rows.Add((a, a == "(none)" ? "no address" : smime.Check(r.Certificate, a) ?? "usable", Date(r.Certificate.NotAfter),
                    r.Thumbprint, CertificateFacts.Name(r.Certificate.SubjectDN), CertificateFacts.Name(r.Certificate.IssuerDN)));
        }
        foreach (var c in snapshot.Authorities)
        {
            var status = now.UtcDateTime > c.NotAfter ? "authority, expired" : "authority";
            rows.Add(("(authority)", status, Date(c.NotAfter), CertificateFacts.Thumbprint(c), CertificateFacts.Name(c.SubjectDN), CertificateFacts.Name(c.IssuerDN)));
        }
        var aw = Math.Max("ADDRESS".Length, rows.Max(r => r.Address.Length));
        var sw = Math.Max("STATUS".Length, rows.Max(r => r.Status.Length));
        await stdout.WriteLineAsync($"{"ADDRESS".PadRight(aw)}  {"STATUS".PadRight(sw)}  {"EXPIRES",-10}  {"SHA-256 THUMBPRINT",-64}  SUBJECT / ISSUER");
        foreach (var r in rows.OrderBy(r => r.Address == "(authority)").ThenBy(r => r.Address, StringComparer.Ordinal))
            await stdout.WriteLineAsync($"{r.Address.PadRight(aw)}  {r.Status.PadRight(sw)}  {r.Expires,-10}  {r.Thumbprint,-64}  {r.Subject} / issuer {r.Issuer}");
    }

    private static string Date(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
