using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace PhiMailGateway.Ingress;

/// <summary>
/// Our own accept loop for SmtpServer, so we hold the sockets: every session gets TCP_NODELAY.
/// Without it a pipelining client (Outlook, smtp-source) waits for delayed ACKs: the server's
/// replies to MAIL and RCPT are separate small writes, and Nagle holds the second until the
/// client acknowledges the first, some 40 ms later, on every message.
/// It also takes a session slot before accepting (<c>Smtp:MaxSessions</c>), so beyond the bound
/// clients wait in the kernel's accept queue instead of costing memory here.
/// </summary>
internal sealed class TcpEndpointListener(TcpListener listener, SemaphoreSlim sessionSlots) : IEndpointListener
{
    public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
    {
        await sessionSlots.WaitAsync(cancellationToken);
        TcpClient client;
        try
        {
            client = await listener.AcceptTcpClientAsync(cancellationToken);
        }
        catch
        {
            sessionSlots.Release();
            throw;
        }
        client.NoDelay = true;
        context.Properties.Add(EndpointListener.LocalEndPointKey, listener.LocalEndpoint);
        context.Properties.Add(EndpointListener.RemoteEndPointKey, client.Client.RemoteEndPoint!);
        return new SocketDuplexPipe(client, () => sessionSlots.Release());
    }

    public void Dispose() => listener.Stop();
}

/// <summary>The session's byte pipe over a socket, upgradeable to TLS (STARTTLS) in place.</summary>
internal sealed class SocketDuplexPipe : ISecurableDuplexPipe
{
    private readonly TcpClient _client;
    private readonly Action _released;
    private Stream _stream;
    private int _disposed;

    public SocketDuplexPipe(TcpClient client, Action released)
    {
        _client = client;
        _released = released;
        _stream = client.GetStream();
        Input = PipeReader.Create(_stream);
        Output = PipeWriter.Create(_stream);
    }

    public PipeReader Input { get; private set; }
    public PipeWriter Output { get; private set; }
    public bool IsSecure => _stream is SslStream;
    public SslProtocols SslProtocol => (_stream as SslStream)?.SslProtocol ?? SslProtocols.None;

    public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default)
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = protocols,
            ClientCertificateRequired = false,
            // We ask for no client certificate, so there is nothing to check revocation of.
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
        }, cancellationToken);
        _stream = tls;
        Input = PipeReader.Create(_stream);
        Output = PipeWriter.Create(_stream);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stream.Dispose();
        _client.Dispose();
        _released();
    }
}
