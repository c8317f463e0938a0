using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// A plaintext SMTP server on loopback that offers CHUNKING (RFC 3030) and takes messages only by
/// BDAT, as a Postfix or Exchange smarthost may be used: the SmtpServer library behind
/// <see cref="FakeSmtpUpstream"/> has no BDAT. DATA is refused (500), so a client that falls back
/// to DATA is caught. Records each message as the concatenated chunks.
/// <code>
/// await using var upstream = await ChunkingSmtpUpstream.StartAsync();
/// // Relay:Host=127.0.0.1, Relay:Port=upstream.Port, Relay:Security=None
/// var messages = await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10));
/// </code>
/// </summary>
public sealed class ChunkingSmtpUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ReceivedMessage> _messages = new();
    private readonly Func<int, string?> _lastChunkReply;
    private Task _accepting = Task.CompletedTask;
    private int _messageCount;

    private ChunkingSmtpUpstream(Func<int, string?>? lastChunkReply)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _lastChunkReply = lastChunkReply ?? (_ => null);
    }

    /// <param name="lastChunkReply">Reply to the last chunk of message n (1 first) instead of 250, e.g. "554 5.6.0 rejected"; null accepts.</param>
    public static Task<ChunkingSmtpUpstream> StartAsync(Func<int, string?>? lastChunkReply = null)
    {
        var upstream = new ChunkingSmtpUpstream(lastChunkReply);
        upstream._listener.Start();
        upstream._accepting = upstream.AcceptAsync();
        return Task.FromResult(upstream);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Commands in arrival order, over all sessions (BDAT lines included, chunk bytes not).</summary>
    public ConcurrentQueue<string> Commands { get; } = new();

    public IReadOnlyList<ReceivedMessage> Messages => _messages.ToArray();

    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (_messages.Count < count && DateTime.UtcNow < until) await Task.Delay(20);
        return Messages;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var session = Guid.NewGuid();
        var input = new BufferedInput(stream);
        string sender = "";
        var recipients = new List<string>();
        var chunks = new MemoryStream();
        try
        {
            await WriteAsync(stream, "220 chunking.test ESMTP\r\n");
            while (await input.ReadLineAsync(_stop.Token) is { } line)
            {
                Commands.Enqueue(line);
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await WriteAsync(stream, "250-chunking.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 CHUNKING\r\n");
                        break;
                    case "MAIL":
                        sender = Between(line, '<', '>');
                        recipients.Clear();
                        chunks.SetLength(0);
                        await WriteAsync(stream, "250 2.1.0 Ok\r\n");
                        break;
                    case "RCPT":
                        recipients.Add(Between(line, '<', '>'));
                        await WriteAsync(stream, "250 2.1.5 Ok\r\n");
                        break;
                    case "BDAT":
                        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        var size = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                        await input.CopyExactlyAsync(chunks, size, _stop.Token);
                        if (parts.Length > 2 && parts[2].Equals("LAST", StringComparison.OrdinalIgnoreCase))
                        {
                            var n = Interlocked.Increment(ref _messageCount);
                            var refusal = _lastChunkReply(n);
                            if (refusal is null)
                                _messages.Enqueue(new ReceivedMessage(sender, recipients.ToList(), chunks.ToArray(), session, Secure: false, User: null));
                            await WriteAsync(stream, (refusal ?? "250 2.0.0 Ok: queued") + "\r\n");
                            chunks.SetLength(0);
                        }
                        else
                        {
                            await WriteAsync(stream, $"250 2.0.0 {size} octets received\r\n");
                        }
                        break;
                    case "DATA":
                        await WriteAsync(stream, "500 5.5.1 this test upstream takes BDAT only\r\n");
                        break;
                    case "QUIT":
                        await WriteAsync(stream, "221 2.0.0 Bye\r\n");
                        return;
                    default:
                        await WriteAsync(stream, "250 2.0.0 Ok\r\n");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private static string Between(string line, char open, char close)
    {
        var start = line.IndexOf(open);
        var end = line.IndexOf(close, start + 1);
        return start >= 0 && end > start ? line[(start + 1)..end] : "";
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    /// <summary>Command lines and exact-length chunks from one connection.</summary>
    private sealed class BufferedInput(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start, _end;

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var at = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
                if (at >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, at);
                    _start += at + 2;
                    return line;
                }
                if (!await FillAsync(cancellationToken)) return null;
            }
        }

        public async Task CopyExactlyAsync(Stream destination, long count, CancellationToken cancellationToken)
        {
            while (count > 0)
            {
                if (_start == _end && !await FillAsync(cancellationToken)) throw new IOException("Connection closed inside a chunk.");
                var take = (int)Math.Min(count, _end - _start);
                destination.Write(_buffer, _start, take);
                _start += take;
                count -= take;
            }
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new IOException("Command line too long.");
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            _end += read;
            return read > 0;
        }
    }
}
