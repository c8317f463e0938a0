using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace PhiMailGateway.Bench.Load;

/// <summary>Times of one message through the load generator (Stopwatch timestamps).</summary>
public sealed record SentMessage(string BenchId, long Started, long DataSent, long Accepted, int Code, long DataReady = 0);

/// <summary>How a session opens after the greeting: plain (the trusted network), STARTTLS, or STARTTLS and AUTH PLAIN as Outlook does.</summary>
public sealed record SessionOpening(bool StartTls, string? User = null, string? Password = null)
{
    public static readonly SessionOpening Plain = new(false);
    public bool Authenticates => User is not null;
}

/// <summary>
/// One SMTP client session, as smtp-source does it: connect once, EHLO, then many transactions on
/// the same connection (MAIL, RCPT, DATA pipelined when the server offers PIPELINING), QUIT at the
/// end. By default no TLS and no AUTH (the client sits in the trusted network of both servers); with
/// a <see cref="SessionOpening"/> it does STARTTLS (any certificate: both servers use self-signed
/// ones) and AUTH PLAIN first.
/// </summary>
public sealed class SmtpLoadClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;
    private bool _pipelining;

    private SmtpLoadClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <param name="from">The client's own loopback address (each sender its own, as each office PC has), or any.</param>
    public static async Task<SmtpLoadClient> ConnectAsync(int port, bool allowPipelining, SessionOpening opening, IPAddress? from, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null) socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        var client = new SmtpLoadClient(socket);
        await client.ExpectAsync(220, "greeting", cancellationToken);
        var ehlo = await client.EhloAsync(cancellationToken);
        if (opening.StartTls)
        {
            if (!ehlo.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase)) throw new IOException("The server does not offer STARTTLS.");
            await client.SendAsync("STARTTLS\r\n"u8.ToArray(), cancellationToken);
            await client.ExpectAsync(220, "STARTTLS reply", cancellationToken);
            var tls = new SslStream(client._stream, leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                // Both servers present self-signed certificates for localhost: the name must match, the chain cannot.
                RemoteCertificateValidationCallback = (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None,
            }, cancellationToken);
            client._stream = tls;
            client._start = client._end = 0;
            ehlo = await client.EhloAsync(cancellationToken);
        }
        if (opening.Authenticates)
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + opening.User + "\0" + opening.Password));
            await client.SendAsync(Encoding.ASCII.GetBytes("AUTH PLAIN " + token + "\r\n"), cancellationToken);
            await client.ExpectAsync(235, "AUTH reply", cancellationToken);
        }
        client._pipelining = allowPipelining && ehlo.Contains("PIPELINING", StringComparison.OrdinalIgnoreCase);
        return client;
    }

    private async Task<string> EhloAsync(CancellationToken cancellationToken)
    {
        await SendAsync("EHLO bench-client.example\r\n"u8.ToArray(), cancellationToken);
        var ehlo = await ReadReplyAsync(cancellationToken);
        if (ehlo.Code != 250) throw new IOException($"EHLO refused: {ehlo.Text}");
        return ehlo.Text;
    }

    /// <summary>Sends one message; returns the timestamps and the final reply code (250 expected).</summary>
    public async Task<SentMessage> SendAsync(string sender, IReadOnlyList<string> recipients, string benchId, byte[] template, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var envelope = new StringBuilder();
        envelope.Append("MAIL FROM:<").Append(sender).Append("> SIZE=").Append(template.Length + 200).Append("\r\n");
        foreach (var r in recipients) envelope.Append("RCPT TO:<").Append(r).Append(">\r\n");
        envelope.Append("DATA\r\n");
        var commands = Encoding.ASCII.GetBytes(envelope.ToString());
        if (_pipelining)
        {
            await SendAsync(commands, cancellationToken);
            for (var i = 0; i < recipients.Count + 1; i++)
            {
                var reply = await ReadReplyAsync(cancellationToken);
                if (reply.Code != 250) return await FailAsync(benchId, started, reply);
            }
        }
        else
        {
            var lines = Encoding.ASCII.GetString(commands).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            foreach (var line in lines[..^1])
            {
                await SendAsync(Encoding.ASCII.GetBytes(line + "\r\n"), cancellationToken);
                var reply = await ReadReplyAsync(cancellationToken);
                if (reply.Code != 250) return await FailAsync(benchId, started, reply);
            }
            await SendAsync("DATA\r\n"u8.ToArray(), cancellationToken);
        }
        var data = await ReadReplyAsync(cancellationToken);
        if (data.Code != 354) return await FailAsync(benchId, started, data);
        var dataReady = Stopwatch.GetTimestamp();

        var prefix = Encoding.ASCII.GetBytes($"X-Bench-Id: {benchId}\r\nMessage-ID: <{benchId}@bench.example>\r\n");
        await SendAsync(prefix, cancellationToken);
        await SendAsync(template, cancellationToken);
        await SendAsync(".\r\n"u8.ToArray(), cancellationToken);
        var dataSent = Stopwatch.GetTimestamp();
        var final = await ReadReplyAsync(cancellationToken);
        return new SentMessage(benchId, started, dataSent, Stopwatch.GetTimestamp(), final.Code, dataReady);
    }

    private async Task<SentMessage> FailAsync(string benchId, long started, (int Code, string Text) reply)
    {
        // Reset the transaction so the session can go on.
        await SendAsync("RSET\r\n"u8.ToArray(), CancellationToken.None);
        await ReadReplyAsync(CancellationToken.None);
        var now = Stopwatch.GetTimestamp();
        return new SentMessage(benchId, started, now, now, reply.Code);
    }

    private async Task ExpectAsync(int code, string what, CancellationToken cancellationToken)
    {
        var reply = await ReadReplyAsync(cancellationToken);
        if (reply.Code != code) throw new IOException($"Unexpected {what}: {reply.Text}");
    }

    private async Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(data, cancellationToken);
        await _stream.FlushAsync(cancellationToken);
    }

    /// <summary>Reads one (possibly multi-line) reply; the last line has a space after the code.</summary>
    private async Task<(int Code, string Text)> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            text.Append(line).Append('\n');
            if (line.Length < 3) throw new IOException($"Malformed reply line '{line}'.");
            if (line.Length == 3 || line[3] == ' ')
                return (int.Parse(line.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture), text.ToString());
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
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
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new IOException("Reply line too long.");
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0) throw new IOException("Server closed the connection.");
            _end += read;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await SendAsync("QUIT\r\n"u8.ToArray(), timeout.Token);
            await ReadReplyAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
        }
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
