using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace PhiMailGateway.Health;

/// <summary>
/// The gateway's counters as <see cref="System.Diagnostics.Metrics"/> instruments (meter
/// <c>PhiMailGateway</c>, so dotnet-counters or an OpenTelemetry collector can read them too), fed
/// where the events really happen: after the 250 is earned, after a relay attempt is recorded, after a
/// hold is committed. Each instance owns its own meter and totals (tests run several gateways in one
/// process; their counts must not mix). Labels are closed sets (routing action names, outcome
/// names): no address, subject or id ever becomes a label.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "PhiMailGateway";

    private readonly Meter _meter = new(MeterName);
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Name, string Labels), long> _totals = new();
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _recipients;
    private readonly Counter<long> _held;

    public GatewayMetrics()
    {
        _accepted = _meter.CreateCounter<long>("phimail_messages_accepted", "messages", "Messages accepted over SMTP (answered 250).");
        _recipients = _meter.CreateCounter<long>("phimail_recipients", "recipients", "Recipient outcomes (relayed, deferred, bounced, rejected), by outcome and routing action.");
        _held = _meter.CreateCounter<long>("phimail_messages_held", "messages", "Messages set aside in hold/ for a person.");
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, _meter)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var labels = new System.Text.StringBuilder();
            foreach (var tag in tags)
            {
                if (labels.Length > 0) labels.Append(',');
                labels.Append(tag.Key).Append("=\"").Append(Escape(tag.Value?.ToString() ?? "")).Append('"');
            }
            _totals.AddOrUpdate((instrument.Name, labels.ToString()), value, (_, total) => total + value);
        });
        _listener.Start();
    }

    public void MessageAccepted() => _accepted.Add(1);

    public void MessageHeld() => _held.Add(1);

    /// <summary>One recorded relay attempt: how many recipients were relayed, deferred and bounced, for the copy's routing action.</summary>
    public void RelayAttemptRecorded(string action, int relayed, int deferred, int bounced)
    {
        var a = new KeyValuePair<string, object?>("action", action);
        if (relayed > 0) _recipients.Add(relayed, new KeyValuePair<string, object?>("outcome", "relayed"), a);
        if (deferred > 0) _recipients.Add(deferred, new KeyValuePair<string, object?>("outcome", "deferred"), a);
        if (bounced > 0) _recipients.Add(bounced, new KeyValuePair<string, object?>("outcome", "bounced"), a);
    }

    /// <summary>Recipients a Reject rule refused (their DSN goes to the sender), after the decision committed.</summary>
    public void RecipientsRejected(int count)
    {
        if (count > 0) _recipients.Add(count, new KeyValuePair<string, object?>("outcome", "rejected"), new KeyValuePair<string, object?>("action", "Reject"));
    }

    /// <summary>The totals so far: instrument name, its labels in Prometheus form (<c>k="v",…</c>, possibly empty), value.</summary>
    public IReadOnlyList<(string Name, string Labels, long Value)> Totals() =>
        _totals.Select(kv => (kv.Key.Name, kv.Key.Labels, kv.Value)).OrderBy(t => t.Name, StringComparer.Ordinal).ThenBy(t => t.Labels, StringComparer.Ordinal).ToList();

    public void Dispose()
    {
        _listener.Dispose();
        _meter.Dispose();
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
