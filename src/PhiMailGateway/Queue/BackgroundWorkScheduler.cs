using System.Runtime.InteropServices;

namespace PhiMailGateway.Queue;

/// <summary>
/// Runs queue work (inspection, encryption, relaying) on threads of its own, at a lower OS
/// priority than the SMTP sessions. A client waits for its 250; nobody waits for a queued
/// message's copies a few milliseconds longer. On the shared thread pool, CPU-heavy queue work
/// held the threads that ingress continuations needed, and under load the 250 of a message
/// waited behind another message being encrypted. Here the kernel gives ingress the CPU first, and queue work every
/// cycle ingress leaves: when nobody is sending, it runs as fast as before.
/// Awaits inside the work come back to these threads (the scheduler is the current one); work a
/// library hands to the thread pool stays there, which is harmless.
/// </summary>
public sealed partial class BackgroundWorkScheduler : TaskScheduler, IDisposable
{
    /// <summary>
    /// How much nicer than the thread that made them the workers run (Linux). 10 weighs a worker
    /// at about a tenth of an ingress thread when both want the CPU, so ingress is never starved
    /// and work still moves. Relative, not absolute: a gateway started already niced (a service
    /// manager's Nice=, a CI runner) would otherwise see its workers not lowered at all, or, as
    /// root, raised above its own sessions.
    /// </summary>
    private const int Niceness = 10;

    /// <summary>The lowest priority Linux has.</summary>
    private const int MaxNice = 19;

    // A plain monitor rather than BlockingCollection: its SemaphoreSlim spins before it sleeps,
    // and idle workers spinning took CPU from the very sessions they are meant to leave it to.
    private readonly object _gate = new();
    private readonly Queue<Task> _tasks = new();
    private readonly int _threadCount;
    private int _idleWorkers;
    private bool _closed;

    [ThreadStatic]
    private static BackgroundWorkScheduler? _currentWorkerOf;

    public BackgroundWorkScheduler(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        _threadCount = threadCount;
        for (var i = 0; i < threadCount; i++)
            new Thread(RunWorker) { IsBackground = true, Name = $"queue-work-{i}" }.Start();
    }

    public override int MaximumConcurrencyLevel => _threadCount;

    /// <summary>Starts <paramref name="work"/> on the worker threads; its awaits resume there too.</summary>
    public Task Run(Func<Task> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    /// <inheritdoc cref="Run(Func{Task})"/>
    public Task<T> Run<T>(Func<Task<T>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    protected override void QueueTask(Task task)
    {
        lock (_gate)
        {
            if (!_closed)
            {
                _tasks.Enqueue(task);
                if (_idleWorkers > 0) Monitor.Pulse(_gate);
                return;
            }
        }
        // Disposed (shutdown): whatever still wants to run finishes on the pool rather than being lost.
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Scheduler.TryExecuteTask(state.Task), (Scheduler: this, Task: task), preferLocal: false);
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        _currentWorkerOf == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_gate) return _tasks.ToArray();
    }

    private void RunWorker()
    {
        _currentWorkerOf = this;
        LowerThisThreadsPriority();
        while (true)
        {
            Task task;
            lock (_gate)
            {
                while (_tasks.Count == 0)
                {
                    if (_closed) return;
                    _idleWorkers++;
                    Monitor.Wait(_gate);
                    _idleWorkers--;
                }
                task = _tasks.Dequeue();
            }
            TryExecuteTask(task);
        }
    }

    private static void LowerThisThreadsPriority()
    {
        // Linux keeps a nice value per thread; raising one's own needs no privilege. Elsewhere
        // (macOS, Windows: development only) the threads run at normal priority.
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            var thread = GetThreadId();
            var inherited = GetPriority(PrioProcess, thread);
            // -1 is also a valid nice value: only errno tells a failure apart.
            if (inherited == -1 && Marshal.GetLastPInvokeError() != 0) return;
            _ = SetPriority(PrioProcess, thread, Math.Min(inherited + Niceness, MaxNice));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    /// <summary>Lets the workers finish what is queued, then end.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }

    private const int PrioProcess = 0;

    // The generated stub clears errno before the call, so the error read after it is this call's.
    [LibraryImport("libc", EntryPoint = "getpriority", SetLastError = true)]
    private static partial int GetPriority(int which, int who);

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
