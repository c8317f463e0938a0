using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Tests.Pipeline;

public class MessagePipelineTests
{
    private sealed class Stage(string name, Func<MessageContext, CancellationToken, Task<StageResult>> run) : IPipelineStage
    {
        public string Name => name;
        public int Calls { get; private set; }

        public Task<StageResult> ProcessAsync(MessageContext context, CancellationToken cancellationToken)
        {
            Calls++;
            return run(context, cancellationToken);
        }
    }

    private static MessageContext Context()
    {
        var envelope = new Envelope("a@practice.example", ["b@lab.example"], null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        return new MessageContext("Q1", envelope, new SpoolEntry("Q1", "/nonexistent", 0, 0, envelope));
    }

    private static MessagePipeline Pipeline(params IPipelineStage[] stages) =>
        new(stages, NullLogger<MessagePipeline>.Instance) { StageTimeout = TimeSpan.FromMilliseconds(200) };

    [Test]
    public async Task MessagePipeline_StageThrows_DefersAndSkipsLaterStages()
    {
        var later = new Stage("Later", (_, _) => Task.FromResult(StageResult.Deliver));
        var result = await Pipeline(new Stage("Inspection", (_, _) => throw new InvalidOperationException("boom")), later).RunAsync(Context(), CancellationToken.None);
        Assert.That(result, Is.TypeOf<StageResult.DeferResult>());
        Assert.That(((StageResult.DeferResult)result).Reason, Does.Contain("Inspection"));
        Assert.That(later.Calls, Is.Zero, "fail closed: nothing runs after a failed stage");
    }

    [Test]
    public async Task MessagePipeline_StageTimesOut_Defers()
    {
        var slow = new Stage("Protection", async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); return StageResult.Continue; });
        var result = await Pipeline(slow).RunAsync(Context(), CancellationToken.None);
        Assert.That(result, Is.TypeOf<StageResult.DeferResult>());
    }

    [Test]
    public async Task MessagePipeline_NoStageDecides_Holds()
    {
        var result = await Pipeline(new Stage("Inspection", (_, _) => Task.FromResult(StageResult.Continue))).RunAsync(Context(), CancellationToken.None);
        Assert.That(result, Is.TypeOf<StageResult.HoldResult>(), "running out of stages must never mean 'send it anyway'");
    }

    [Test]
    public async Task MessagePipeline_ContinueThenDeliver_RunsInOrder()
    {
        var order = new List<string>();
        var first = new Stage("Inspection", (_, _) => { order.Add("Inspection"); return Task.FromResult(StageResult.Continue); });
        var second = new Stage("Routing", (_, _) => { order.Add("Routing"); return Task.FromResult(StageResult.Reject("policy")); });
        var third = new Stage("Relay", (_, _) => { order.Add("Relay"); return Task.FromResult(StageResult.Deliver); });
        var result = await Pipeline(first, second, third).RunAsync(Context(), CancellationToken.None);
        Assert.That(order, Is.EqualTo(new[] { "Inspection", "Routing" }));
        Assert.That(result, Is.EqualTo(StageResult.Reject("policy")));
    }
}
