using System.Text;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Hosting;

/// <summary>
/// Standard output for `serve`. .NET's console writer makes one write system call per log line,
/// which under load cost more CPU than relaying the message. Here lines collect in a buffer and a
/// background round writes everything collected in one call; lines that arrive during that write
/// go out in the next round. Nothing waits on a timer: when idle each line is written at once, so a
/// crash loses at most what arrived during the last write. <see cref="Flush"/> writes synchronously.
/// </summary>
public sealed class CoalescingConsoleWriter : TextWriter
{
    private readonly Stream _output;
    private readonly Lock _pendingLock = new();
    private readonly Lock _writeLock = new();
    private readonly CoalescingFlush _rounds;
    private StringBuilder _pending = new();
    private StringBuilder _spare = new();

    public CoalescingConsoleWriter(Stream output)
    {
        _output = output;
        _rounds = new CoalescingFlush(WritePending, firstRoundOnCaller: false);
    }

    /// <summary>Replaces <see cref="Console.Out"/> until disposed (then flushes and restores it).</summary>
    public static IDisposable InstallForStandardOutput()
    {
        var previous = Console.Out;
        var writer = new CoalescingConsoleWriter(Console.OpenStandardOutput());
        Console.SetOut(writer);
        return new Restore(previous, writer);
    }

    public override Encoding Encoding { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    public override void Write(char value)
    {
        lock (_pendingLock) _pending.Append(value);
        _ = _rounds.FlushAsync();
    }

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        lock (_pendingLock) _pending.Append(value);
        _ = _rounds.FlushAsync();
    }

    public override void Write(char[] buffer, int index, int count)
    {
        if (count == 0) return;
        lock (_pendingLock) _pending.Append(buffer, index, count);
        _ = _rounds.FlushAsync();
    }

    public override void Flush() => WritePending();

    private void WritePending()
    {
        // One writer at a time, so rounds and an explicit Flush never reorder lines.
        lock (_writeLock)
        {
            StringBuilder taken;
            lock (_pendingLock)
            {
                if (_pending.Length == 0) return;
                taken = _pending;
                _pending = _spare;
                _spare = taken;
            }
            var bytes = Encoding.GetBytes(taken.ToString());
            taken.Clear();
            _output.Write(bytes);
            _output.Flush();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Flush();
        base.Dispose(disposing);
    }

    private sealed class Restore(TextWriter previous, CoalescingConsoleWriter writer) : IDisposable
    {
        public void Dispose()
        {
            Console.SetOut(previous);
            writer.Dispose();
        }
    }
}
