using PhiMailGateway.Queue;

namespace PhiMailGateway.Tests.Queue;

public class BackgroundWorkSchedulerTests
{
    [Test]
    public async Task Work_RunsOnTheWorkerThreads_AndComesBackToThemAfterEachAwait()
    {
        using var scheduler = new BackgroundWorkScheduler(2);
        var threadNames = new List<string?>();

        await scheduler.Run(async () =>
        {
            threadNames.Add(Thread.CurrentThread.Name);
            await Task.Delay(10);
            threadNames.Add(Thread.CurrentThread.Name);
            // A wait that completes on a pool thread (a file read here) still resumes on a worker.
            await File.ReadAllBytesAsync(typeof(BackgroundWorkSchedulerTests).Assembly.Location);
            threadNames.Add(Thread.CurrentThread.Name);
        });

        Assert.That(threadNames, Has.Count.EqualTo(3));
        Assert.That(threadNames, Has.All.StartsWith("queue-work-"));
    }

    [Test]
    public async Task OnLinux_WorkerThreads_RunTenNicerThanTheThreadThatMadeThem_WhateverTheRunnersNiceValue()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("thread nice values are read from /proc");
        // Read before the workers exist, on the thread they inherit their nice value from.
        var callerNice = CurrentThreadNice();
        if (callerNice >= 19) Assert.Ignore($"the runner already runs at nice {callerNice}: no lower priority is left to give the workers");
        using var scheduler = new BackgroundWorkScheduler(1);

        var workerNice = await scheduler.Run(() => Task.FromResult(CurrentThreadNice()));

        Assert.That(workerNice, Is.EqualTo(Math.Min(callerNice + 10, 19)), $"ingress (the caller's priority, nice {callerNice}) must win the CPU from queue work");
    }

    [Test]
    public async Task MoreWorkThanThreads_AllRuns_AtMostThreadCountAtOnce()
    {
        using var scheduler = new BackgroundWorkScheduler(2);
        var running = 0;
        var mostAtOnce = 0;
        var finished = 0;

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => scheduler.Run(async () =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref mostAtOnce, now);
            Thread.Sleep(5); // blocking, as an fsync is: holds its thread
            Interlocked.Decrement(ref running);
            await Task.Yield();
            Interlocked.Increment(ref finished);
        })));

        Assert.That(finished, Is.EqualTo(20));
        Assert.That(mostAtOnce, Is.InRange(1, 2));
    }

    [Test]
    public void AnExceptionInTheWork_ReachesTheCaller()
    {
        using var scheduler = new BackgroundWorkScheduler(1);

        Assert.ThrowsAsync<InvalidDataException>(() => scheduler.Run(async () =>
        {
            await Task.Yield();
            throw new InvalidDataException("broken message");
        }));
    }

    [Test]
    public async Task WorkStillInFlightAtDispose_IsFinished_NotLost()
    {
        var scheduler = new BackgroundWorkScheduler(1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = scheduler.Run(async () =>
        {
            await release.Task;
            await Task.Yield();
            return "finished";
        });

        scheduler.Dispose();
        release.SetResult();

        Assert.That(await work.WaitAsync(TimeSpan.FromSeconds(10)), Is.EqualTo("finished"), "work resumed after shutdown began still completes");
    }

    private static int CurrentThreadNice()
    {
        // /proc/thread-self/stat: the fields after "(comm)" start at field 3; nice is field 19.
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3]);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
