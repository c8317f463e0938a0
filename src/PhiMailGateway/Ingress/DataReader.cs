using System.IO.Pipelines;

namespace PhiMailGateway.Ingress;

/// <summary>How a DATA section ended.</summary>
internal enum DataOutcome
{
    Complete,
    TooLarge,
    BareCr,
    HeaderLineTooLong,
    TooManyHeaders,
    Closed,
}

/// <summary>
/// Reads one DATA section in a single pass over the bytes: dot-unstuffing, the end-of-data check,
/// line-end checks, header limits and the size count happen in the same loop, runs between line
/// ends are copied whole (the search for CR/LF is vectorised), and nothing is allocated per line.
/// <list type="bullet">
/// <item>Only CRLF "." CRLF ends the data (RFC 5321 4.1.1.4). A line start counts for dot handling
/// only after a real CRLF, so a "." line ended by a bare LF is data, never an end.</item>
/// <item>A bare CR anywhere refuses the message (Postfix's 550 5.6.11): passed on, a laxer server
/// further on could read "\r.\r\n" as the end of data and run the rest as commands (SMTP smuggling).</item>
/// <item>A bare LF is stored as CRLF, so the spool holds CRLF lines only and the relay dot-stuffs
/// what was a smuggled "\n.\n".</item>
/// <item>The size is the message as stored: after unstuffing, bare LF normalised, the CRLF before
/// the final dot included. Past Smtp:MaxMessageBytes (or any other refusal) the buffer is released
/// at once and the rest is read and dropped up to the final dot, so the client hears its reply
/// right after the dot and nothing is held beyond the limit.</item>
/// </list>
/// One instance per session, reset for each DATA.
/// </summary>
internal sealed class DataReader(long maxBytes, int maxHeaderLineBytes, int maxHeaderFields)
{
    private enum State : byte
    {
        LineStart,          // after CRLF (or at the start): a dot here is stuffing or the end
        LineStartAfterLf,   // after a bare LF: an ordinary line start, no dot handling
        AfterDot,
        AfterDotCr,
        InLine,
        AfterCr,
    }

    private State _state;
    private bool _ended;
    private bool _inHeaders;
    private int _lineLength;
    private int _headerFields;
    private PooledMessageBuffer? _output;

    public DataOutcome Outcome { get; private set; }

    /// <summary>Bytes of the message as it would be stored (counted to the end even when refused).</summary>
    public long Size { get; private set; }

    public async ValueTask<DataOutcome> ReadAsync(PipeReader reader, PooledMessageBuffer output, IdleTimer timer, TimeSpan timeout)
    {
        Reset(output);
        while (true)
        {
            timer.Arm(timeout);
            var result = await reader.ReadAsync(timer.Token);
            timer.Disarm();
            if (result.IsCanceled) throw new OperationCanceledException("read cancelled");
            var buffer = result.Buffer;
            long consumed = 0;
            foreach (var segment in buffer)
            {
                consumed += Scan(segment.Span);
                if (_ended) break;
            }
            reader.AdvanceTo(buffer.GetPosition(consumed));
            if (_ended) return Outcome;
            if (result.IsCompleted)
            {
                output.Release();
                return DataOutcome.Closed;
            }
        }
    }

    private void Reset(PooledMessageBuffer output)
    {
        _state = State.LineStart;
        _ended = false;
        _inHeaders = true;
        _lineLength = 0;
        _headerFields = 0;
        _output = output;
        Outcome = DataOutcome.Complete;
        Size = 0;
    }

    /// <summary>Consumes bytes up to and including the final dot line; returns how many.</summary>
    internal int Scan(ReadOnlySpan<byte> input)
    {
        var i = 0;
        while (i < input.Length)
        {
            switch (_state)
            {
                case State.InLine:
                {
                    var rest = input[i..];
                    var special = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    var run = special < 0 ? rest : rest[..special];
                    if (!run.IsEmpty)
                    {
                        Emit(run);
                        _lineLength += run.Length;
                        if (_inHeaders && _lineLength > maxHeaderLineBytes) Fail(DataOutcome.HeaderLineTooLong);
                        i += run.Length;
                    }
                    if (special < 0) return i;
                    if (input[i] == (byte)'\r')
                    {
                        _state = State.AfterCr;
                    }
                    else
                    {
                        EndLine();
                        _state = State.LineStartAfterLf;
                    }
                    i++;
                    break;
                }
                case State.AfterCr:
                    if (input[i] == (byte)'\n')
                    {
                        EndLine();
                        _state = State.LineStart;
                        i++;
                    }
                    else
                    {
                        Fail(DataOutcome.BareCr);
                        _state = State.InLine; // the byte after the CR is read again as line content
                    }
                    break;
                case State.LineStart:
                    if (input[i] == (byte)'.')
                    {
                        _state = State.AfterDot;
                        i++;
                    }
                    else
                    {
                        _state = State.LineStartAfterLf;
                    }
                    break;
                case State.AfterDot:
                    switch (input[i])
                    {
                        case (byte)'\r':
                            _state = State.AfterDotCr;
                            i++;
                            break;
                        case (byte)'\n':
                            // "." ended by a bare LF is a line holding a dot, not the end of data.
                            StartField((byte)'.');
                            Emit("."u8);
                            _lineLength = 1;
                            EndLine();
                            _state = State.LineStartAfterLf;
                            i++;
                            break;
                        default:
                            _state = State.LineStartAfterLf; // the stuffing dot is dropped
                            break;
                    }
                    break;
                case State.AfterDotCr:
                    if (input[i] == (byte)'\n')
                    {
                        _ended = true;
                        return i + 1;
                    }
                    Fail(DataOutcome.BareCr);
                    _state = State.InLine;
                    break;
                case State.LineStartAfterLf:
                    switch (input[i])
                    {
                        case (byte)'\r':
                            _state = State.AfterCr;
                            i++;
                            break;
                        case (byte)'\n':
                            EndLine();
                            i++;
                            break;
                        default:
                            StartField(input[i]);
                            _state = State.InLine;
                            break;
                    }
                    break;
            }
        }
        return i;
    }

    private void StartField(byte first)
    {
        if (!_inHeaders || first is (byte)' ' or (byte)'\t') return;
        if (++_headerFields > maxHeaderFields) Fail(DataOutcome.TooManyHeaders);
    }

    /// <summary>Every stored line ends with CRLF; the first empty line ends the header section.</summary>
    private void EndLine()
    {
        Emit("\r\n"u8);
        if (_lineLength == 0) _inHeaders = false;
        _lineLength = 0;
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        Size += bytes.Length;
        if (Outcome != DataOutcome.Complete) return;
        if (Size > maxBytes)
        {
            Fail(DataOutcome.TooLarge);
            return;
        }
        _output!.Write(bytes);
    }

    private void Fail(DataOutcome outcome)
    {
        if (Outcome != DataOutcome.Complete) return;
        Outcome = outcome;
        _output!.Release();
    }
}
