using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace PhiMailGateway.Bench.Load;

/// <summary>
/// The upstream both the gateway and Postfix relay to: a minimal SMTP server on loopback that
/// answers 250 to everything, counts messages and bytes, and notes when each message arrived by
/// its X-Bench-Id header. Deliberately not the SmtpServer library: that one buffers the whole
/// message into one sequence and runs a full command parser and state machine per session, which
/// would make the sink a measurable part of the result on a 2-core machine. Here a session is one
/// receive loop over a 64 KiB buffer; DATA is scanned with IndexOf for CRLF.CRLF, and only the first
/// few KiB of each message are looked at for the header. Replies to pipelined commands go out in
/// one send per received buffer. It offers CHUNKING (BDAT) as Postfix's own smtpd and Exchange do,
/// so each client sends the way it would to a real smarthost: the gateway's MailKit uses BDAT,
/// Postfix's smtp client (which has no BDAT) uses DATA; `--sink-no-chunking` leaves CHUNKING out, so
/// both use DATA (as Postfix's own smtp-sink makes them). Given a certificate it is a recipient's MX
/// for the TLS-first scenarios: it offers STARTTLS, and after the handshake runs the same loop over
/// the SslStream.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private const int HeaderScanBytes = 16 * 1024;
    private static readonly byte[] EndOfData = "\r\n.\r\n"u8.ToArray();
    private static readonly byte[] BenchIdHeader = "\r\nX-Bench-Id: "u8.ToArray();

    private readonly Socket _listener;
    private readonly SslServerAuthenticationOptions? _tls;
    private readonly bool _chunking;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private ConcurrentDictionary<string, long> _arrivals = new(StringComparer.Ordinal);
    private string _runTag = "";
    private long _messages;
    private long _bytes;
    private long _tlsHandshakes;
    private long _tagged;
    private long _lastTaggedArrival;

    /// <param name="address">Where to listen (a free port there); default 127.0.0.1.</param>
    /// <param name="certificate">With a certificate (and its key), STARTTLS is offered.</param>
    /// <param name="chunking">Offer CHUNKING; without it every client sends DATA with dot-stuffing, as to a smarthost that has no BDAT.</param>
    public SmtpSink(IPAddress? address = null, X509Certificate2? certificate = null, bool chunking = true)
    {
        _chunking = chunking;
        if (certificate is not null)
            _tls = new SslServerAuthenticationOptions { ServerCertificate = certificate, ClientCertificateRequired = false, CertificateRevocationCheckMode = X509RevocationMode.NoCheck };
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address ?? IPAddress.Loopback, 0));
        _listener.Listen(512);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptLoopAsync();
    }

    public int Port { get; }
    public IPAddress Address => ((IPEndPoint)_listener.LocalEndPoint!).Address;
    public long TlsHandshakes => Interlocked.Read(ref _tlsHandshakes);
    public long Messages => Interlocked.Read(ref _messages);
    public long Bytes => Interlocked.Read(ref _bytes);
    public bool OffersChunking => _chunking;

    /// <summary>
    /// Messages of this run, counting repeats of one id: a client that sends one file many times
    /// (smtp-source -F) gives every copy the same X-Bench-Id.
    /// </summary>
    public long TaggedCount => Interlocked.Read(ref _tagged);

    /// <summary>When the last message of this run arrived (Stopwatch timestamp), repeats included.</summary>
    public long LastTaggedArrival => Interlocked.Read(ref _lastTaggedArrival);

    /// <summary>Arrivals (Stopwatch timestamps) of this run's messages, by X-Bench-Id.</summary>
    public IReadOnlyDictionary<string, long> Arrivals => _arrivals;

    /// <summary>Forgets earlier arrivals; from now on only ids that start with <paramref name="runTag"/> count.</summary>
    public void BeginRun(string runTag)
    {
        _runTag = runTag;
        _arrivals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        Interlocked.Exchange(ref _messages, 0);
        Interlocked.Exchange(ref _bytes, 0);
        Interlocked.Exchange(ref _tlsHandshakes, 0);
        Interlocked.Exchange(ref _tagged, 0);
        Interlocked.Exchange(ref _lastTaggedArrival, 0);
    }

    public int ArrivedCount => _arrivals.Count;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            _ = Task.Run(() => SessionAsync(client));
        }
    }

    private async Task SessionAsync(Socket socket)
    {
        socket.NoDelay = true;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        var secure = false;
        var buffer = new byte[64 * 1024];
        var filled = 0;
        var replies = new MemoryStream(256);
        var inData = false;
        long chunkLeft = -1;    // bytes of the current BDAT chunk still to come; -1 outside a chunk
        var lastChunk = false;
        var inBdat = false;     // between the first BDAT of a message and its LAST
        var header = new byte[HeaderScanBytes];
        var headerLength = 0;
        long messageBytes = 0;

        // A message (DATA or the first BDAT chunk) starts "after a CRLF": one goes in front of the
        // header copy so the header search finds line 1 too.
        void BeginMessage()
        {
            messageBytes = 0;
            header[0] = (byte)'\r';
            header[1] = (byte)'\n';
            headerLength = 2;
        }

        // Counts message bytes and keeps the first HeaderScanBytes of them for the X-Bench-Id search.
        void Take(ReadOnlySpan<byte> data)
        {
            if (headerLength < header.Length)
            {
                var copy = Math.Min(data.Length, header.Length - headerLength);
                data[..copy].CopyTo(header.AsSpan(headerLength));
                headerLength += copy;
            }
            messageBytes += data.Length;
        }

        try
        {
            await stream.WriteAsync("220 bench-sink ESMTP\r\n"u8.ToArray(), _stop.Token);
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                if (read == 0) return;
                filled += read;
                var pos = 0;
                var quit = false;
                var startTls = false;
                while (pos < filled || chunkLeft == 0) // an empty chunk (BDAT 0 LAST) completes without data
                {
                    if (chunkLeft >= 0)
                    {
                        var take = (int)Math.Min(chunkLeft, filled - pos);
                        Take(buffer.AsSpan(pos, take));
                        chunkLeft -= take;
                        pos += take;
                        if (chunkLeft > 0) break;
                        chunkLeft = -1;
                        if (lastChunk)
                        {
                            inBdat = false;
                            MessageArrived(header.AsSpan(0, headerLength), messageBytes);
                            replies.Write("250 2.0.0 Ok: queued\r\n"u8);
                        }
                        else
                        {
                            replies.Write("250 2.0.0 Ok: chunk\r\n"u8);
                        }
                        continue;
                    }
                    if (inData)
                    {
                        var span = buffer.AsSpan(pos, filled - pos);
                        var end = span.IndexOf(EndOfData);
                        var take = end >= 0 ? end + 2 : Math.Max(0, span.Length - (EndOfData.Length - 1));
                        Take(span[..take]);
                        if (end < 0)
                        {
                            pos += take;
                            break;
                        }
                        pos += end + EndOfData.Length;
                        inData = false;
                        MessageArrived(header.AsSpan(0, headerLength), messageBytes);
                        replies.Write("250 2.0.0 Ok: queued\r\n"u8);
                        continue;
                    }

                    var lineEnd = buffer.AsSpan(pos, filled - pos).IndexOf("\r\n"u8);
                    if (lineEnd < 0) break;
                    var line = buffer.AsSpan(pos, lineEnd);
                    pos += lineEnd + 2;
                    if (StartsWith(line, "EHLO"))
                    {
                        replies.Write("250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 209715200\r\n"u8);
                        if (_chunking) replies.Write("250-CHUNKING\r\n"u8);
                        if (_tls is not null && !secure) replies.Write("250-STARTTLS\r\n"u8);
                        replies.Write("250 ENHANCEDSTATUSCODES\r\n"u8);
                    }
                    else if (StartsWith(line, "STARTTLS"))
                    {
                        if (_tls is null || secure)
                        {
                            replies.Write("454 4.7.0 TLS not available\r\n"u8);
                            continue;
                        }
                        replies.Write("220 2.0.0 Ready to start TLS\r\n"u8);
                        startTls = true;
                        break;
                    }
                    else if (_chunking && StartsWith(line, "BDAT "))
                    {
                        var args = Encoding.ASCII.GetString(line[5..]).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        if (args.Length == 0 || !long.TryParse(args[0], out var size) || size < 0)
                        {
                            replies.Write("501 5.5.4 Syntax: BDAT size [LAST]\r\n"u8);
                            continue;
                        }
                        if (!inBdat)
                        {
                            inBdat = true;
                            BeginMessage();
                        }
                        lastChunk = args.Length > 1 && args[1].Equals("LAST", StringComparison.OrdinalIgnoreCase);
                        chunkLeft = size;
                    }
                    else if (StartsWith(line, "DATA"))
                    {
                        replies.Write("354 End data with <CR><LF>.<CR><LF>\r\n"u8);
                        inData = true;
                        BeginMessage();
                    }
                    else if (StartsWith(line, "QUIT"))
                    {
                        replies.Write("221 2.0.0 Bye\r\n"u8);
                        quit = true;
                        break;
                    }
                    else
                    {
                        replies.Write("250 2.0.0 Ok\r\n"u8);
                    }
                }

                if (replies.Length > 0)
                {
                    await stream.WriteAsync(replies.GetBuffer().AsMemory(0, (int)replies.Length), _stop.Token);
                    replies.SetLength(0);
                }
                if (quit) return;
                if (startTls)
                {
                    // RFC 3207 4.2: nothing the client sent after STARTTLS counts; it starts again with EHLO.
                    filled = 0;
                    var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = tls;
                    await tls.AuthenticateAsServerAsync(_tls!, _stop.Token);
                    Interlocked.Increment(ref _tlsHandshakes);
                    secure = true;
                    continue;
                }
                // Keep the unconsumed tail (a partial line, or the last bytes that may begin CRLF.CRLF).
                Buffer.BlockCopy(buffer, pos, buffer, 0, filled - pos);
                filled -= pos;
                if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private void MessageArrived(ReadOnlySpan<byte> header, long bytes)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _bytes, bytes);
        var at = header.IndexOf(BenchIdHeader);
        if (at < 0) return;
        var value = header[(at + BenchIdHeader.Length)..];
        var end = value.IndexOf("\r\n"u8);
        if (end < 0) return;
        var id = Encoding.ASCII.GetString(value[..end]);
        if (!id.StartsWith(_runTag, StringComparison.Ordinal)) return;
        _arrivals.TryAdd(id, now);
        Interlocked.Increment(ref _tagged);
        long last;
        while ((last = Interlocked.Read(ref _lastTaggedArrival)) < now && Interlocked.CompareExchange(ref _lastTaggedArrival, now, last) != last) { }
    }

    private static bool StartsWith(ReadOnlySpan<byte> line, string command)
    {
        if (line.Length < command.Length) return false;
        for (var i = 0; i < command.Length; i++)
        {
            if ((line[i] | 0x20) != (command[i] | 0x20)) return false;
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try { await _accepting; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
