using System.Buffers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using PhiMailGateway.Hosting;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Pipeline;

public class MessagePipelineTests
{
    private const string Rules = """
        { "Rules": [
          { "Name": "lab-tls", "When": { "RecipientDomains": ["lab.example"] }, "Action": "RequireTls" },
          { "Name": "blocked", "When": { "RecipientDomains": ["blocked.example"] }, "Action": "Reject", "Message": "We do not send there." },
          { "Name": "colleagues", "When": { "RecipientDomains": ["colleague.example"] }, "Action": "Relay" },
          { "Name": "insurers", "When": { "RecipientDomains": ["insurer.example"] }, "Action": "Relay" }
        ] }
        """;

    private TempDirectory _dir = null!;
    private IHost _host = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        // The real composition, with rules of the test's own (no rule for other domains: they hold).
        _host = GatewayHost.Build([], new Dictionary<string, string?> { ["Gateway:DataDirectory"] = _dir.Path }, services =>
            services.AddSingleton(sp => new RuleSetProvider(
                Routing.RuleSetParserTests.Json(Rules), RoutingStage.KnownImageKinds, sp.GetRequiredService<ILogger<RuleSetProvider>>())));
        Spool.EnsureCreated();
    }

    [TearDown]
    public void TearDown()
    {
        _host.Dispose();
        _dir.Dispose();
    }

    private SpoolDirectory Spool => _host.Services.GetRequiredService<SpoolDirectory>();
    private MessagePipeline Pipeline => _host.Services.GetRequiredService<MessagePipeline>();

    private async Task<SpoolEntry> QueueAsync(string queueId, string[] recipients, bool bccHeader = false)
    {
        var message = new MimeMessage { Subject = "Referral", MessageId = "referral-1@practice.example" };
        message.From.Add(MailboxAddress.Parse("frontdesk@practice.example"));
        message.To.Add(new MailboxAddress("Dr. Lee", recipients[0]));
        if (bccHeader) message.Bcc.Add(MailboxAddress.Parse("hidden@colleague.example"));
        message.Body = new TextPart("plain") { Text = "Please see the patient.\r\n" };
        using var bytes = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, bytes);

        var envelope = new Envelope("frontdesk@practice.example", recipients, null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        var path = Spool.IncomingPath(queueId);
        await using (var file = OwnerOnly.CreateNew(path))
            await SpoolFile.WriteAsync(file, envelope, ReadOnlyMemory<byte>.Empty, new ReadOnlySequence<byte>(bytes.ToArray()), CancellationToken.None);
        return SpoolFile.Read(path);
    }

    [Test]
    public async Task MessagePipeline_ThreeRulesAndAReject_EachCopyCarriesItsDeliveryIdAndThePlanListsTheRejection()
    {
        var message = await QueueAsync("Q1", ["a@colleague.example", "b@lab.example", "c@blocked.example", "d@insurer.example"]);

        var outcome = await Pipeline.RunAsync(message, CancellationToken.None);

        Assert.That(outcome.Result, Is.EqualTo(StageResult.Deliver));
        var processed = outcome.Processed!;
        Assert.That(processed.Headers.MessageId, Is.EqualTo("referral-1@practice.example"), "headers are read once, before inspection");
        Assert.That(processed.Headers.RecipientNames["a@colleague.example"], Is.EqualTo("Dr. Lee"));
        // RequireTls comes before Relay (action order), one Relay copy per rule; ids follow the order the copies were made.
        Assert.That(processed.Copies.Select(c => (c.DeliveryId, c.RuleName, string.Join(",", c.Recipients))), Is.EqualTo(new[]
        {
            ("Q1-1", "lab-tls", "b@lab.example"),
            ("Q1-2", "colleagues", "a@colleague.example"),
            ("Q1-3", "insurers", "d@insurer.example"),
        }));
        Assert.That(processed.Copies[0].RequireTls, Is.True);
        Assert.That(processed.Plan.Rejections, Is.EqualTo(new[] { new Rejection("c@blocked.example", "We do not send there.", "blocked") }));
        Assert.That(processed.Protection.GeneratedFiles, Is.Empty, "no Bcc header and no subject tag: the spool file itself goes out");
    }

    [Test]
    public async Task MessagePipeline_EveryRecipientRejected_RejectsWithTheRulesMessage()
    {
        var message = await QueueAsync("Q2", ["c@blocked.example"]);
        var outcome = await Pipeline.RunAsync(message, CancellationToken.None);
        Assert.That(outcome.Result, Is.EqualTo(StageResult.Reject("We do not send there.")));
        Assert.That(outcome.Processed!.Copies, Is.Empty);
        Assert.That(outcome.Processed.Plan.Rejections.Single().Recipient, Is.EqualTo("c@blocked.example"), "the audit records the Reject");
    }

    [Test]
    public async Task MessagePipeline_RecipientNoRuleMatches_HoldsWithoutOutputs()
    {
        var message = await QueueAsync("Q3", ["a@colleague.example", "someone@elsewhere.example"]);
        var outcome = await Pipeline.RunAsync(message, CancellationToken.None);
        Assert.That(outcome.Result, Is.TypeOf<StageResult.HoldResult>(), "nothing leaves on a default nobody wrote");
        Assert.That(outcome.Processed, Is.Null);
        Assert.That(Directory.GetFiles(Spool.Outbound), Is.Empty);
    }

    [Test]
    public async Task MessagePipeline_ProtectorFailsAfterAnotherWroteACopy_DefersAndRemovesThatCopy()
    {
        // A Bcc header makes both pass-through protectors write a rewritten copy. The Relay one finds
        // its file name taken and throws, after the RequireTls copy was written.
        var message = await QueueAsync("Q4", ["b@lab.example", "a@colleague.example"], bccHeader: true);
        var blocker = Path.Combine(Spool.Outbound, "Q4-relay.eml");
        await File.WriteAllTextAsync(blocker, "in the way");

        var outcome = await Pipeline.RunAsync(message, CancellationToken.None);

        Assert.That(outcome.Result, Is.TypeOf<StageResult.DeferResult>());
        Assert.That(((StageResult.DeferResult)outcome.Result).Reason, Does.Contain("Protection"));
        Assert.That(File.Exists(Path.Combine(Spool.Outbound, "Q4-requiretls.eml")), Is.False, "a stage that stops removes the copies it made");
    }

    [Test]
    public async Task MessagePipeline_BccHeader_CopyIsRewrittenAndListedAsGenerated()
    {
        var message = await QueueAsync("Q5", ["a@colleague.example"], bccHeader: true);
        var outcome = await Pipeline.RunAsync(message, CancellationToken.None);
        var copy = outcome.Processed!.Copies.Single();
        Assert.That(copy.Content.Path, Is.Not.EqualTo(message.Path), "a Bcc header never leaves");
        Assert.That(outcome.Processed.Protection.GeneratedFiles, Is.EqualTo(new[] { copy.Content.Path }));
        Assert.That(await File.ReadAllTextAsync(copy.Content.Path), Does.Not.Contain("hidden@colleague.example"));
    }

    private static StageRunner Runner() => new(NullLogger<StageRunner>.Instance) { StageTimeout = TimeSpan.FromMilliseconds(200) };

    [Test]
    public async Task StageRunner_StageThrows_DefersNamingTheStage()
    {
        var output = await Runner().RunAsync<RoutingPlan>("Q1", "Routing", _ => throw new InvalidOperationException("boom"), CancellationToken.None);
        Assert.That(output.Output, Is.Null, "fail closed: nothing to hand on");
        Assert.That(output.Stop, Is.EqualTo(StageResult.Defer("stage Routing failed: InvalidOperationException")));
    }

    [Test]
    public async Task StageRunner_StageTimesOut_Defers()
    {
        var output = await Runner().RunAsync<RoutingPlan>("Q1", "Protection", async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return StageResult.Deliver;
        }, CancellationToken.None);
        Assert.That(output.Stop, Is.EqualTo(StageResult.Defer("stage Protection timed out")));
    }

    [Test]
    public async Task StageRunner_StageStops_HandsOnItsResultAndNoOutput()
    {
        var output = await Runner().RunAsync<RoutingPlan>("Q1", "Routing", _ => Task.FromResult<StageOutput<RoutingPlan>>(StageResult.Hold("why")), CancellationToken.None);
        Assert.That(output.Stop, Is.EqualTo(StageResult.Hold("why")));
        Assert.That(output.Output, Is.Null);
    }

    [Test]
    public void StageRunner_HostShutsDown_CancellationPropagates()
    {
        using var stopping = new CancellationTokenSource();
        stopping.Cancel();
        Assert.That(async () => await Runner().RunAsync<RoutingPlan>("Q1", "Inspection", async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return StageResult.Deliver;
        }, stopping.Token), Throws.InstanceOf<OperationCanceledException>(), "shutdown is not a stage failure: the message stays queued as it was");
    }
}
