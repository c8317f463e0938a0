using PhiMailGateway.Storage;

namespace PhiMailGateway.Tests.Storage;

public class CoalescingFlushTests
{
    [Test]
    public async Task CallersArrivingDuringARun_ShareTheNextRun_AndEachIsCoveredByARunStartedAfterIt()
    {
        var runStarts = new List<int>();
        var counter = 0;
        var firstRunEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flush = new CoalescingFlush(async () =>
        {
            int seen;
            lock (runStarts) { seen = counter; runStarts.Add(seen); }
            if (runStarts.Count == 1)
            {
                firstRunEntered.SetResult();
                await releaseFirstRun.Task;
            }
        });

        Interlocked.Increment(ref counter);
        var first = flush.FlushAsync();
        await firstRunEntered.Task;
        // Ten writers finish while the first run is busy: they must not be served by it.
        var later = Enumerable.Range(0, 10).Select(_ => { Interlocked.Increment(ref counter); return flush.FlushAsync(); }).ToList();
        Assert.That(later.Any(t => t.IsCompleted), Is.False, "nobody is served by a run that started before them");
        releaseFirstRun.SetResult();
        await first;
        await Task.WhenAll(later);

        Assert.That(runStarts, Has.Count.EqualTo(2), "one run for the ten callers that arrived together");
        Assert.That(runStarts[1], Is.EqualTo(11), "the second run started after all eleven writes");
    }

    [Test]
    public async Task FailedRun_FailsItsCallers_AndTheNextCallRunsAgain()
    {
        var fail = true;
        var runs = 0;
        var flush = new CoalescingFlush(() =>
        {
            runs++;
            if (fail) throw new IOException("fsync failed");
        });
        Assert.ThrowsAsync<IOException>(() => flush.FlushAsync());
        fail = false;
        await flush.FlushAsync();
        Assert.That(runs, Is.EqualTo(2));
    }
}
