using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The session's bytes over its socket, upgradeable to TLS in place. On an upgrade the old reader and
/// whatever it still buffered are dropped: plaintext a client pipelined behind STARTTLS must never
/// be read as if it had come under TLS (the STARTTLS command injection of CVE-2011-0411).
/// </summary>
internal sealed class SmtpConnection : IAsyncDisposable
{
    // Large enough that a DATA of megabytes takes few reads; a read buffer is only rented while a
    // read is pending, so an idle session holds at most one.
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true);
    private static readonly StreamPipeWriterOptions WriterOptions = new(leaveOpen: true);

    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private SslStream? _tls;

    public SmtpConnection(Socket socket)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        Reader = PipeReader.Create(_network, ReaderOptions);
        Writer = PipeWriter.Create(_network, WriterOptions);
    }

    public PipeReader Reader { get; private set; }
    public PipeWriter Writer { get; private set; }
    public bool IsSecure => _tls is not null;

    public async Task UpgradeAsync(SslServerAuthenticationOptions options, CancellationToken cancellationToken)
    {
        await Reader.CompleteAsync();
        await Writer.CompleteAsync();
        var tls = new SslStream(_network, leaveInnerStreamOpen: true);
        _tls = tls;
        await tls.AuthenticateAsServerAsync(options, cancellationToken);
        Reader = PipeReader.Create(tls, ReaderOptions);
        Writer = PipeWriter.Create(tls, WriterOptions);
    }

    public async ValueTask SendAsync(SmtpReply reply, CancellationToken cancellationToken)
    {
        Write(reply.Code, ' ', reply.Text);
        await Writer.FlushAsync(cancellationToken);
    }

    /// <summary>A multi-line reply (EHLO): every line but the last has a dash after the code.</summary>
    public async ValueTask SendAsync(int code, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        for (var i = 0; i < lines.Count; i++) Write(code, i < lines.Count - 1 ? '-' : ' ', lines[i]);
        await Writer.FlushAsync(cancellationToken);
    }

    private void Write(int code, char separator, string text)
    {
        var length = 4 + text.Length + 2;
        var span = Writer.GetSpan(length);
        span[0] = (byte)('0' + code / 100);
        span[1] = (byte)('0' + code / 10 % 10);
        span[2] = (byte)('0' + code % 10);
        span[3] = (byte)separator;
        // Replies are ours and ASCII; anything else becomes '?' rather than a broken line.
        var written = Encoding.ASCII.GetBytes(text, span[4..]);
        span[4 + written] = (byte)'\r';
        span[5 + written] = (byte)'\n';
        Writer.Advance(6 + written);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Reader.CompleteAsync();
            await Writer.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // The client is gone; there is nothing left to flush to.
        }
        if (_tls is not null) await _tls.DisposeAsync();
        await _network.DisposeAsync();
    }
}
