using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection;

public class ProtectionStageTests
{
    /// <summary>A protector that breaks the contract: writes a file, then returns the given copies.</summary>
    private sealed class ContractBreaker(string file, Func<ProtectionWork, IReadOnlyList<RoutingDecision>, IReadOnlyList<OutboundCopy>> copies) : IProtector
    {
        public RoutingAction Action => RoutingAction.Relay;

        public async Task<IReadOnlyList<OutboundCopy>> ProtectAsync(ProtectionWork work, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken)
        {
            work.AddGeneratedFile(file);
            await File.WriteAllTextAsync(file, "copy", cancellationToken);
            return copies(work, recipients);
        }
    }

    private static RoutingDecision Relay(string recipient) =>
        new(recipient, new RoutingRule("relay", new RuleConditions(), RoutingAction.Relay, null, "Treatment"), [], null);

    private static async Task<StageOutput<ProtectedCopies>> RunAsync(IProtector protector, params string[] recipients)
    {
        var envelope = new Envelope("frontdesk@practice.example", recipients, null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        var message = new SpoolEntry("Q1", "/nonexistent", 0, 0, envelope);
        var plan = new RoutingPlan(recipients.Select(Relay), []);
        return await new ProtectionStage([protector]).ProtectAsync(message, MessageHeaders.Unreadable, new InspectionReport { Findings = [] }, plan, message.QueueId, CancellationToken.None);
    }

    private static OutboundCopy Copy(ProtectionWork work, params string[] recipients) =>
        new(work.NextDeliveryId(), recipients, new OutboundContent("/nonexistent", 0), "Relay", "relay", RequireTls: false);

    [Test]
    public async Task ProtectionStage_ProtectorLeavesARecipientWithoutCopy_HoldsAndRemovesItsFiles()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "Q1-relay.eml");
        var output = await RunAsync(new ContractBreaker(file, (work, _) => [Copy(work, "a@colleague.example")]), "a@colleague.example", "b@colleague.example");
        Assert.That(output.Stop, Is.TypeOf<StageResult.HoldResult>(), "a recipient must not vanish without a copy or a DSN");
        Assert.That(File.Exists(file), Is.False);
    }

    [Test]
    public async Task ProtectionStage_ProtectorGivesARecipientTwoCopies_Holds()
    {
        using var dir = new TempDirectory();
        var output = await RunAsync(new ContractBreaker(Path.Combine(dir.Path, "x.eml"), (work, _) => [Copy(work, "a@colleague.example"), Copy(work, "A@colleague.example")]),
            "a@colleague.example");
        Assert.That(output.Stop, Is.TypeOf<StageResult.HoldResult>(), "nobody gets the message twice");
    }

    [Test]
    public async Task ProtectionStage_EachRecipientInOneCopy_HandsOnTheCopiesAndTheirFiles()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "Q1-relay.eml");
        var output = await RunAsync(new ContractBreaker(file, (work, recipients) => [Copy(work, [.. recipients.Select(r => r.Recipient)])]),
            "a@colleague.example", "b@colleague.example");
        Assert.That(output.Output!.Copies.Single().DeliveryId, Is.EqualTo("Q1-1"));
        Assert.That(output.Output.GeneratedFiles, Is.EqualTo(new[] { file }));
        Assert.That(File.Exists(file), Is.True, "the processor owns the files once the stage hands them on");
    }
}
