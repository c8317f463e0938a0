using PhiMailGateway.Queue;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Cli;

/// <summary>`queue list` and `queue retry ID`: IT's view of what is waiting, and a nudge.</summary>
internal static class QueueCommand
{
    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        var sub = args.FirstOrDefault();
        if (sub is not ("list" or "retry") || (sub == "retry" && args.Length != 2) || (sub == "list" && args.Length != 1))
            return GatewayCommandLine.Usage(stderr, 2, "queue: expected `queue list` or `queue retry ID`.");

        await using var context = CliContext.Create(configArgs);
        var spool = context.Get<SpoolDirectory>();
        spool.EnsureCreated();
        await context.Database().MigrateAsync(CancellationToken.None);
        var queue = context.Get<IMessageQueue>();

        return sub == "list"
            ? await ListAsync(queue, stdout)
            : await RetryAsync(queue, spool, args[1], stdout, stderr);
    }

    private static async Task<int> ListAsync(IMessageQueue queue, TextWriter stdout)
    {
        var messages = await queue.MessagesInStateAsync(
            [MessageStates.Received, MessageStates.Processed, MessageStates.Held, MessageStates.Rejected, MessageStates.Corrupt], CancellationToken.None);
        var deliveries = await queue.PendingDeliveriesAsync(CancellationToken.None);
        if (messages.Count == 0)
        {
            await stdout.WriteLineAsync("Queue is empty.");
            return 0;
        }

        await stdout.WriteLineAsync($"{"QUEUE ID",-22} {"STATE",-10} {"RECEIVED (UTC)",-20} {"SIZE",10} {"RCPTS",5} {"TRIES",5}  NEXT TRY / NOTE");
        foreach (var m in messages)
        {
            var note = m.State == MessageStates.Received ? Time(m.NextAttemptAt) : m.LastError ?? "";
            await stdout.WriteLineAsync($"{m.QueueId,-22} {m.State,-10} {Time(m.ReceivedAt),-20} {m.Size,10} {m.RecipientCount,5} {m.Attempts,5}  {note}");
            foreach (var d in deliveries.Where(d => d.QueueId == m.QueueId))
            {
                await stdout.WriteLineAsync($"  {d.DeliveryId,-26} {d.Action,-10} tries {d.Attempts}, next {Time(d.NextAttemptAt)}{(d.LastError is null ? "" : ", last: " + d.LastError)}");
                await stdout.WriteLineAsync($"    waiting for: {string.Join(", ", d.PendingRecipients)}");
            }
        }
        return 0;
    }

    private static async Task<int> RetryAsync(IMessageQueue queue, SpoolDirectory spool, string id, TextWriter stdout, TextWriter stderr)
    {
        var message = QueueId.IsValid(id) ? await queue.FindMessageAsync(id, CancellationToken.None) : null;
        if (message?.State == MessageStates.Held)
        {
            // A held message goes back through the whole pipeline, from incoming/.
            var target = spool.IncomingPath(id);
            File.Move(message.SpoolPath, target);
            DirectorySync.Flush(spool.Incoming);
            await queue.ReleaseHeldAsync(id, target, CancellationToken.None);
            await stdout.WriteLineAsync($"Released {id} from hold; it will be processed again.");
            return 0;
        }
        if (await queue.RetryNowAsync(id, CancellationToken.None))
        {
            await stdout.WriteLineAsync($"Scheduled {id} for an immediate retry.");
            return 0;
        }
        await stderr.WriteLineAsync($"queue retry: no waiting message or delivery with id '{id}'.");
        return 1;
    }

    private static string Time(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss");
}
