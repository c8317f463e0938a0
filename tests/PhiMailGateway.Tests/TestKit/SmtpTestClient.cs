using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

// The peer is always our own test gateway with a generated self-signed certificate.
#pragma warning disable CA5359 // accepting any server certificate is the point of a test client

namespace PhiMailGateway.Tests.TestKit;

/// <summary>One SMTP reply: its code and every line's text after the code and separator.</summary>
public sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The connection closed before a reply arrived.</summary>
    public static readonly SmtpReply Closed = new(-1, []);

    public string Text => string.Join("\n", Lines);

    /// <summary>True when an EHLO reply lists the keyword (case-insensitive, whole first word or whole line).</summary>
    public bool HasExtension(string extension) =>
        Lines.Any(l => l.Equals(extension, StringComparison.OrdinalIgnoreCase)
                       || l.StartsWith(extension + " ", StringComparison.OrdinalIgnoreCase));

    public override string ToString() => Code + " " + string.Join(" | ", Lines);
}

/// <summary>
/// A raw, line-level SMTP client for protocol tests: send exactly these bytes, read exactly this reply.
/// STARTTLS and implicit TLS accept any server certificate (the peer is our own test gateway).
/// Every read has a timeout so a server that does not answer fails the test instead of hanging it.
/// For high-level submission use <see cref="CreateMailKit"/>.
/// </summary>
public sealed class SmtpTestClient : IAsyncDisposable, IDisposable
{
    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private SmtpTestClient(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
    }

    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(15);
    public SmtpReply Greeting { get; private set; } = SmtpReply.Closed;
    public bool IsSecure => _stream is SslStream;

    /// <param name="from">Source address to connect from (loopback accepts all of 127/8), so a test can be several clients.</param>
    public static async Task<SmtpTestClient> ConnectAsync(int port, bool implicitTls = false, string host = "127.0.0.1", string? from = null)
    {
        var tcp = from is null ? new TcpClient() : new TcpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(from), 0));
        await tcp.ConnectAsync(host, port);
        Stream stream = tcp.GetStream();
        if (implicitTls) stream = await UpgradeAsync(stream);
        var client = new SmtpTestClient(tcp, stream);
        client.Greeting = await client.ReadReplyAsync();
        return client;
    }

    public Task SendLineAsync(string line) => SendRawAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends one command line and reads its reply; a connection the server already closed reads as <see cref="SmtpReply.Closed"/>.</summary>
    public async Task<SmtpReply> CommandAsync(string line)
    {
        try
        {
            await SendLineAsync(line);
        }
        catch (IOException)
        {
            // Closed by the server (e.g. after 552 or 421): whatever it said last is still readable.
        }
        return await ReadReplyAsync();
    }

    public Task<SmtpReply> EhloAsync(string name = "client.test") => CommandAsync("EHLO " + name);

    /// <summary>Reads one (possibly multi-line) reply; <see cref="SmtpReply.Closed"/> when the server closed the connection.</summary>
    public async Task<SmtpReply> ReadReplyAsync()
    {
        var lines = new List<string>();
        var code = -1;
        while (true)
        {
            var line = await ReadLineAsync();
            if (line is null) return lines.Count == 0 ? SmtpReply.Closed : new SmtpReply(code, lines);
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture, out code))
                throw new InvalidDataException($"Not an SMTP reply line: '{line}'");
            lines.Add(line.Length > 4 ? line[4..] : "");
            if (line.Length < 4 || line[3] != '-') return new SmtpReply(code, lines);
        }
    }

    public async Task<SmtpReply> StartTlsAsync()
    {
        var reply = await CommandAsync("STARTTLS");
        if (reply.Code != 220) return reply;
        if (_start != _end) throw new InvalidDataException("Server sent bytes after 220 to STARTTLS (response injection).");
        _stream = await UpgradeAsync(_stream);
        return reply;
    }

    public async Task<SmtpReply> AuthPlainAsync(string user, string password)
    {
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        return await CommandAsync("AUTH PLAIN " + token);
    }

    public async Task<SmtpReply> AuthLoginAsync(string user, string password)
    {
        var reply = await CommandAsync("AUTH LOGIN");
        if (reply.Code != 334) return reply;
        reply = await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(user)));
        if (reply.Code != 334) return reply;
        return await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(password)));
    }

    /// <summary>DATA, then <paramref name="content"/> as given (already dot-stuffed, ending in CRLF), then the terminating dot line.</summary>
    public async Task<SmtpReply> DataAsync(byte[] content)
    {
        var reply = await CommandAsync("DATA");
        if (reply.Code != 354) return reply;
        try
        {
            // One write: a server that stops reading early (size limit) then still finds the whole
            // message in its buffer, and its reply is not lost to a connection reset.
            await SendRawAsync(content.Concat(".\r\n"u8.ToArray()).ToArray());
        }
        catch (IOException)
        {
            // The server may answer and close before it read everything; its reply is what matters.
        }
        return await ReadReplyAsync();
    }

    /// <summary>EHLO, STARTTLS, EHLO again and AUTH PLAIN; throws unless each step succeeds.</summary>
    public async Task LoginAsync(string user, string password)
    {
        Expect(await EhloAsync(), 250, "EHLO");
        Expect(await StartTlsAsync(), 220, "STARTTLS");
        Expect(await EhloAsync(), 250, "EHLO after STARTTLS");
        Expect(await AuthPlainAsync(user, password), 235, "AUTH PLAIN");
    }

    public static void Expect(SmtpReply reply, int code, string step)
    {
        if (reply.Code != code) throw new AssertionException($"{step}: expected {code}, got {reply}");
    }

    /// <summary>MailKit's client with certificate checks off, for tests that submit like Outlook would.</summary>
    public static MailKit.Net.Smtp.SmtpClient CreateMailKit() => new()
    {
        ServerCertificateValidationCallback = (_, _, _, _) => true,
        CheckCertificateRevocation = false,
        Timeout = 15_000,
    };

    private async Task<string?> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(ReadTimeout);
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(span[..lf]).TrimEnd('\r');
                _start += lf + 1;
                return line;
            }
            if (_start > 0)
            {
                span.CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new InvalidDataException("Reply line longer than the test client's buffer.");
            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No reply from the server within {ReadTimeout}.");
            }
            catch (IOException)
            {
                read = 0; // reset by peer counts as closed
            }
            if (read == 0) return null;
            _end += read;
        }
    }

    private static async Task<Stream> UpgradeAsync(Stream inner)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TestGateway.HostName,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return ssl;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
