using System.Globalization;
using System.Text;

namespace PhiMailGateway.Health;

/// <summary>
/// Prometheus text exposition format 0.0.4: the counters of <see cref="GatewayMetrics"/> (as
/// <c>…_total</c>) and the queue gauges read at scrape time. Counters that have seen no event yet
/// are written as 0, so a dashboard's rate() has a series from the first scrape.
/// </summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly (string Name, string Help)[] Counters =
    [
        ("phimail_messages_accepted", "Messages accepted over SMTP (answered 250)."),
        ("phimail_messages_held", "Messages set aside in hold/ for a person."),
        ("phimail_recipients", "Recipient outcomes: relayed, deferred, bounced (relay attempts) and rejected (Reject rules), by routing action."),
    ];

    public static string Write(IReadOnlyList<(string Name, string Labels, long Value)> totals, QueueSnapshot queue)
    {
        var text = new StringBuilder();
        foreach (var (name, help) in Counters)
        {
            text.Append("# HELP ").Append(name).Append("_total ").Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append("_total counter\n");
            var series = totals.Where(t => t.Name == name).ToList();
            if (series.Count == 0 && name != "phimail_recipients") text.Append(name).Append("_total 0\n");
            foreach (var (_, labels, value) in series)
                text.Append(name).Append("_total").Append(labels.Length > 0 ? "{" + labels + "}" : "").Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        text.Append("# HELP phimail_queue_messages Messages accepted and not finished, by state (Held counts as queued).\n");
        text.Append("# TYPE phimail_queue_messages gauge\n");
        foreach (var (state, count) in queue.MessagesByState)
            text.Append("phimail_queue_messages{state=\"").Append(state).Append("\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("# HELP phimail_queue_deliveries_pending Outbound copies waiting to be relayed.\n");
        text.Append("# TYPE phimail_queue_deliveries_pending gauge\n");
        text.Append("phimail_queue_deliveries_pending ").Append(queue.PendingDeliveries.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("# HELP phimail_queue_oldest_age_seconds Age of the oldest message not finished (0 when the queue is empty).\n");
        text.Append("# TYPE phimail_queue_oldest_age_seconds gauge\n");
        text.Append("phimail_queue_oldest_age_seconds ").Append(Math.Floor(queue.OldestAge.TotalSeconds).ToString(CultureInfo.InvariantCulture)).Append('\n');
        return text.ToString();
    }
}
