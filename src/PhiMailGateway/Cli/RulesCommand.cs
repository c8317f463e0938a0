using PhiMailGateway.Guard;
using System.Globalization;
using MimeKit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;
using PhiMailGateway.Protection;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Cli;

/// <summary>
/// `rules test --eml FILE [--to ADDR ...] [--from ADDR] [--show-phi] [--offline]`: IT's dry run.
/// Inspects the message exactly as the gateway would, then prints per recipient the action, the
/// rule and why, rule by rule, and for a TlsFirst recipient what direct delivery would do now (live
/// DNS, MTA-STS and a TLS handshake with the MX, ending before MAIL FROM; --offline skips them).
/// Nothing is sent or stored. DICOM patient data is shown only with --show-phi.
/// </summary>
internal static class RulesCommand
{
    private const string UsageText = "rules: expected `rules test --eml FILE [--to ADDR ...] [--from ADDR] [--show-phi] [--offline]`.";

    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        if (args.FirstOrDefault() != "test") return GatewayCommandLine.Usage(stderr, 2, UsageText);
        if (!TryParse(args[1..], out var eml, out var to, out var from, out var showPhi, out var offline, out var error))
            return GatewayCommandLine.Usage(stderr, 2, error);
        if (!File.Exists(eml))
        {
            await stderr.WriteLineAsync($"rules test: cannot read '{eml}': no such file.");
            return 2;
        }

        // The real certificate store, so RecipientHasCertificate answers as it will in `serve`.
        await using var context = CliContext.Create(configArgs, CliSections.Gateway | CliSections.Guard | CliSections.Direct, b =>
        {
            b.AddSmime();
            b.AddRouting();
            b.AddGuard();
        });
        await context.Database().MigrateAsync(CancellationToken.None);
        var rules = context.Get<RuleSetProvider>().Current;
        var spool = context.Get<SpoolDirectory>();

        MessageHeaders headers;
        InspectionReport report;
        try
        {
            // As in `serve`: the headers are read once on their own, then the inspection walks the parts.
            await using (var file = new FileStream(eml, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.SequentialScan))
                headers = await MessageHeaders.ReadAsync(file, CancellationToken.None);
            await using (var file = new FileStream(eml, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.SequentialScan))
                report = await new MessageInspector(context.Get<InspectionOptions>(), spool.Scratch).InspectAsync(file, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"rules test: cannot read '{eml}': {e.Message}");
            return 2;
        }

        var sender = from ?? headers.From.FirstOrDefault() ?? "";
        var recipients = to.Count > 0 ? to : headers.To.Concat(headers.Cc).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (recipients.Count == 0)
        {
            await stderr.WriteLineAsync("rules test: the message names no To or Cc recipient; give one with --to ADDR.");
            return 2;
        }

        await PrintFindingsAsync(stdout, headers, report, showPhi);
        await stdout.WriteLineAsync($"Rules: {(rules.IsBuiltInDefault ? "built-in default" : "from configuration")}, {rules.Rules.Count} rules; sender {(sender.Length == 0 ? "(none)" : sender)}");
        var facts = RoutingStage.FactsOf(sender, headers, report);
        var engine = context.Get<RuleEngine>();
        var decisions = new List<RoutingDecision>();
        var directOn = context.Get<PhiMailGateway.Direct.DirectOptions>().Enabled;
        foreach (var recipient in recipients)
        {
            var decision = await engine.DecideAsync(rules, facts, recipient, CancellationToken.None);
            // As the routing stage does: with direct delivery off, TlsFirst is its fallback at once.
            decisions.Add(directOn || decision.Rule is null ? decision : decision.FallingBack(RoutingStage.DirectDisabled));
        }
        // What the misdirection guard would say, from what this data directory knows (its audit log and IT's list).
        var decided = decisions.Where(d => d.Rule is not null).DistinctBy(d => d.Recipient, StringComparer.OrdinalIgnoreCase).ToList();
        var guard = decided.Count == 0
            ? new Dictionary<string, GuardVerdict>(StringComparer.OrdinalIgnoreCase)
            : (await context.Get<GuardStage>().CheckAsync(headers, report, new RoutingPlan(decided, rules.SubjectTags), CancellationToken.None))
                .Verdicts.ToDictionary(v => v.Recipient, StringComparer.OrdinalIgnoreCase);
        var direct = directOn && !offline && decisions.Any(d => d.Action == RoutingAction.TlsFirst)
            ? await DirectVerdictsAsync(context, decisions.Where(d => d.Action == RoutingAction.TlsFirst).Select(d => d.Recipient).Distinct(StringComparer.OrdinalIgnoreCase).ToList())
            : new Dictionary<string, PhiMailGateway.Relay.RecipientOutcome>(StringComparer.OrdinalIgnoreCase);
        foreach (var decision in decisions)
        {
            var recipient = decision.Recipient;
            await stdout.WriteLineAsync();
            await stdout.WriteLineAsync(decision.Rule is { } rule
                ? $"{recipient}: {decision.Action} (rule '{rule.Name}', purpose {rule.Purpose}){(decision.Action == RoutingAction.Reject ? $": {rule.Message}" : "")}"
                : $"{recipient}: HOLD (no rule matched; the message would wait in spool/hold)");
            foreach (var line in decision.Trace) await stdout.WriteLineAsync("  " + line);
            if (decision.FellBackBecause is { } because) await stdout.WriteLineAsync($"  TlsFirst takes its fallback {decision.Action}: {because}");
            else if (decision.Action == RoutingAction.TlsFirst)
                await stdout.WriteLineAsync("  " + TlsFirstLine(decision, offline ? null : direct.GetValueOrDefault(recipient)));
            if (guard.GetValueOrDefault(recipient) is { } verdict) await stdout.WriteLineAsync("  " + GuardLine(verdict, report.HasDentalImage));
        }
        return 0;
    }

    /// <summary>What direct delivery would do for the TlsFirst recipients now; nothing is sent, and policies learned are not stored.</summary>
    private static async Task<Dictionary<string, PhiMailGateway.Relay.RecipientOutcome>> DirectVerdictsAsync(CliContext context, IReadOnlyList<string> recipients)
    {
        var options = context.Get<PhiMailGateway.Direct.DirectOptions>();
        var dns = new PhiMailGateway.Direct.DnsLookup(options);
        var certificates = PhiMailGateway.Direct.MxCertificateCheck.For(options);
        using var policies = new PhiMailGateway.Direct.MtaStsPolicies(options, dns, certificates,
            new DryRunPolicyStore(context.Get<PhiMailGateway.Direct.IMtaStsPolicyStore>()), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<PhiMailGateway.Direct.MtaStsPolicies>.Instance);
        var transport = new PhiMailGateway.Direct.DirectTransport(options, context.Get<PhiMailGateway.Configuration.GatewayOptions>(), dns, certificates, policies,
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<PhiMailGateway.Direct.DirectTransport>.Instance);
        var outcomes = await transport.DryRunAsync(recipients, CancellationToken.None);
        return outcomes.ToDictionary(o => o.Recipient, StringComparer.OrdinalIgnoreCase);
    }

    private static string TlsFirstLine(RoutingDecision decision, PhiMailGateway.Relay.RecipientOutcome? verdict) => verdict switch
    {
        null => $"TLS-first: not checked (--offline); direct when the MX's TLS verifies (DANE, MTA-STS, PKIX), else {decision.Rule!.FallbackAction}",
        { Status: PhiMailGateway.Relay.RecipientStatus.Delivered } => $"TLS-first: direct, {verdict.Method}",
        { Status: PhiMailGateway.Relay.RecipientStatus.Fallback } => $"TLS-first: fallback {decision.Rule!.FallbackAction}: {verdict.Response}",
        { Status: PhiMailGateway.Relay.RecipientStatus.Failed } => $"TLS-first: would bounce: {verdict.Code} {verdict.Response}",
        _ => $"TLS-first: not decided now ({verdict.Response}); tried again on the retry schedule, {decision.Rule!.FallbackAction} after Direct:FallbackAfter",
    };

    /// <summary>The stored MTA-STS policies, read; what a dry run learns stays in memory.</summary>
    private sealed class DryRunPolicyStore(PhiMailGateway.Direct.IMtaStsPolicyStore stored) : PhiMailGateway.Direct.IMtaStsPolicyStore
    {
        private readonly Dictionary<string, PhiMailGateway.Direct.MtaStsPolicy> _learned = new(StringComparer.OrdinalIgnoreCase);

        public async Task<PhiMailGateway.Direct.MtaStsPolicy?> FindAsync(string domain, CancellationToken cancellationToken) =>
            _learned.GetValueOrDefault(domain) ?? await stored.FindAsync(domain, cancellationToken);

        public Task SaveAsync(PhiMailGateway.Direct.MtaStsPolicy policy, CancellationToken cancellationToken)
        {
            _learned[policy.Domain] = policy;
            return Task.CompletedTask;
        }
    }

    private static string GuardLine(GuardVerdict verdict, bool hasImages) => verdict.Outcome switch
    {
        GuardOutcome.Pass when !hasImages => "guard: pass (no dental image, nothing to check)",
        GuardOutcome.Pass => "guard: pass",
        var outcome => $"guard: {outcome.ToString().ToLowerInvariant()}: " + string.Join("; ",
            verdict.Reasons.Select(r => $"{r.Text} ({r.Check}, {r.Action.ToString().ToLowerInvariant()})")),
    };

    private static async Task PrintFindingsAsync(TextWriter stdout, MessageHeaders headers, InspectionReport report, bool showPhi)
    {
        await stdout.WriteLineAsync($"Dental image: {(report.HasDentalImage ? "yes" : "no")}{(report.Kinds.Count > 0 ? $" ({string.Join(", ", report.Kinds)})" : "")}");
        // A subject can name a patient ("X-ray for J. Smith"), so it is patient data here too.
        var subject = string.IsNullOrEmpty(headers.Subject) ? "(empty)" : showPhi ? headers.Subject : "(hidden; --show-phi shows it)";
        await stdout.WriteLineAsync($"Subject: {subject}; sensitivity: {headers.Sensitivity ?? "normal"}");
        await stdout.WriteLineAsync($"Parts ({report.Findings.Count}):");
        foreach (var f in report.Findings)
        {
            var size = f.Width is { } w && f.Height is { } h ? $", {w}x{h}" : "";
            var depth = f.Components is { } c ? $", {c} component{(c == 1 ? "" : "s")}" + (f.BitDepth is { } b ? $" {b}-bit" : "") : "";
            var flag = f.IsProtected ? "PROTECTED" : "not protected";
            await stdout.WriteLineAsync($"  [{f.PartSpecifier}] {f.Path}: {KindText(f)}, {FormatText(f)}, {f.Size.ToString("N0", CultureInfo.InvariantCulture)} bytes{size}{depth}; {flag}");
            if (f.FailClosedReason is { } reason) await stdout.WriteLineAsync($"      could not be inspected ({reason}): counted as a dental image");
            if (f.Dicom?.Tags is { } tags)
            {
                await stdout.WriteLineAsync($"      DICOM: modality {tags.Modality ?? "?"}, body part {tags.BodyPartExamined ?? "?"}, study date {tags.StudyDate ?? "?"}");
                await stdout.WriteLineAsync(showPhi
                    ? $"      patient: {tags.PatientName ?? "?"}, id {tags.PatientId ?? "?"}, born {tags.PatientBirthDate ?? "?"}"
                    : "      patient data hidden (add --show-phi to see it)");
            }
        }
    }

    /// <summary>ImageKind.None printed as "None" read like "nothing found" to IT (issue 22): say what it means.</summary>
    private static string KindText(InspectionFinding f) => f.Kind == ImageKind.None ? "not an image" : f.Kind.ToString();

    /// <summary>For a part that is not an image, the declared MIME type says which it is ("Text (text/html)").</summary>
    private static string FormatText(InspectionFinding f) =>
        f.Kind == ImageKind.None && f.DeclaredContentType is { Length: > 0 } declared
            ? $"{f.Format} ({declared.ToLowerInvariant()})"
            : f.Format;

    private static bool TryParse(string[] args, out string eml, out List<string> to, out string? from, out bool showPhi, out bool offline,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        eml = "";
        to = [];
        from = null;
        showPhi = false;
        offline = false;
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--eml" when i + 1 < args.Length: eml = args[++i]; break;
                case "--to" when i + 1 < args.Length: to.Add(MailboxAddress.Parse(args[++i]).Address); break;
                case "--from" when i + 1 < args.Length: from = MailboxAddress.Parse(args[++i]).Address; break;
                case "--show-phi": showPhi = true; break;
                case "--offline": offline = true; break;
                default:
                    error = $"rules test: unexpected argument '{args[i]}'. {UsageText}";
                    return false;
            }
        }
        if (eml.Length > 0) return true;
        error = UsageText;
        return false;
    }
}
