using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Audit;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>pickup list</c> and <c>pickup revoke ID</c>. A revocation takes effect at once, also for a
/// running <c>serve</c>: the page reads the package row on every request, and the content and key
/// are deleted right here.
/// </summary>
internal static class PickupCommand
{
    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        var sub = args.FirstOrDefault();
        if (sub is not ("list" or "revoke") || (sub == "revoke" && args.Length != 2) || (sub == "list" && args.Length != 1))
            return GatewayCommandLine.Usage(stderr, 2, "pickup: expected `pickup list` or `pickup revoke ID`.");

        await using var context = CliContext.Create(configArgs, CliSections.Gateway | CliSections.Pickup,
            b =>
            {
                b.AddPickupPackageStore();
                b.AddAudit(); // a revocation is an audit event
            });
        await context.Database().MigrateAsync(CancellationToken.None);
        var store = context.Get<PickupPackageStore>();
        var now = context.Get<TimeProvider>().GetUtcNow();

        if (sub == "list")
        {
            var packages = await store.ListAsync(CancellationToken.None);
            if (packages.Count == 0)
            {
                await stdout.WriteLineAsync("No pickup packages.");
                return 0;
            }
            // Queue id, Message-ID and subject tell apart several packages for one address. IT runs this on
            // the server, so the subject is shown here; it is never logged.
            var labels = await store.LabelsAsync(CancellationToken.None);
            var recipientWidth = Math.Max("RECIPIENT".Length, packages.Max(p => p.Recipient.Length));
            var queueWidth = Math.Max("QUEUE ID".Length, packages.Max(p => p.QueueId.Length));
            await stdout.WriteLineAsync($"{"PACKAGE",-19} {"STATUS",-14} {"CREATED (UTC)",-16} {"EXPIRES (UTC)",-16} {"FILES",5} {"DOWNLOADS",9}  {"RECIPIENT".PadRight(recipientWidth)}  {"QUEUE ID".PadRight(queueWidth)}  MESSAGE-ID / SUBJECT");
            foreach (var p in packages)
            {
                var label = labels.GetValueOrDefault(p.PackageId);
                var what = label is null ? "-" : $"{(label.MessageId is { } mid ? "<" + mid + ">" : "(no Message-ID)")} \"{OneLine(label.Subject ?? "")}\"";
                var status = p.Availability(now) switch
                {
                    PackageAvailability.Available => p.IsLocked(now) ? "Locked" : "Active",
                    PackageAvailability.DownloadsUsed => "Used up",
                    var a => a.ToString(),
                } + (p.PurgedAt is null ? "" : "*");
                await stdout.WriteLineAsync($"{p.PackageId,-19} {status,-14} {Time(p.CreatedAt),-16} {Time(p.ExpiresAt),-16} {p.FileCount,5} {$"{p.DownloadCount}/{p.MaxDownloads}",9}  {p.Recipient.PadRight(recipientWidth)}  {p.QueueId.PadRight(queueWidth)}  {what}");
            }
            await stdout.WriteLineAsync("* content and key deleted");
            return 0;
        }

        var id = args[1];
        var package = await store.FindAsync(id, CancellationToken.None);
        if (package is null)
        {
            await stderr.WriteLineAsync($"pickup revoke: no package with id '{id}'. See `pickup list`.");
            return 1;
        }
        if (!await store.RevokeAsync(id, CancellationToken.None))
        {
            await stdout.WriteLineAsync($"{id} was already revoked.");
            return 0;
        }
        var audit = context.Get<IAuditTrail>();
        await audit.AppendAsync(new AuditEvent(AuditEventTypes.PickupRevoked, package.QueueId, null, package.Recipient,
            $"revoked by `pickup revoke` ({Environment.UserName})", package.PackageId), CancellationToken.None);
        await stdout.WriteLineAsync($"Revoked {id}: the link no longer works; its content and key are deleted.");
        return 0;
    }

    /// <summary>A subject on one line, control characters (and bidi overrides) shown as spaces, so a subject cannot forge a row.</summary>
    private static string OneLine(string text)
    {
        var chars = text.Select(c => char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' ? ' ' : c).ToArray();
        var line = new string(chars).Trim();
        return line.Length <= 80 ? line : line[..79] + "…";
    }

    private static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}
