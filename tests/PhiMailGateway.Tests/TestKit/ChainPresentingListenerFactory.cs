using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// SmtpServer's listener, but its STARTTLS sends the leaf and the given chain certificates (SmtpServer
/// hands SslStream the leaf alone, and .NET only adds certificates it finds in the machine's stores):
/// what an MX that publishes DANE-TA records must do (RFC 7672 3.1.1: the anchor is in the chain).
/// </summary>
internal sealed class ChainPresentingListenerFactory(X509Certificate2 leaf, X509Certificate2[] chain) : EndpointListenerFactory
{
    private readonly SslStreamCertificateContext _context = SslStreamCertificateContext.Create(leaf, new X509Certificate2Collection(chain), offline: true);

    public override IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var listener = new TcpListener(endpointDefinition.Endpoint);
        listener.Start();
        var started = new EndpointEventArgs(endpointDefinition, listener.LocalEndpoint);
        OnEndpointStarted(started);
        return new Listener(listener, _context, () => OnEndpointStopped(started));
    }

    private sealed class Listener(TcpListener listener, SslStreamCertificateContext context, Action stopped) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext session, CancellationToken cancellationToken)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken);
            session.Properties.Add(EndpointListener.LocalEndPointKey, listener.LocalEndpoint);
            session.Properties.Add(EndpointListener.RemoteEndPointKey, client.Client.RemoteEndPoint);
            return new Pipe(client, context);
        }

        public void Dispose()
        {
            listener.Stop();
            stopped();
        }
    }

    private sealed class Pipe : ISecurableDuplexPipe
    {
        private readonly TcpClient _client;
        private readonly SslStreamCertificateContext _context;
        private Stream _stream;

        public Pipe(TcpClient client, SslStreamCertificateContext context)
        {
            _client = client;
            _context = context;
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
            var ssl = new SslStream(_stream, leaveInnerStreamOpen: true);
            try
            {
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _context,
                    ClientCertificateRequired = false,
                    EnabledSslProtocols = protocols,
                }, cancellationToken);
            }
            catch
            {
                await ssl.DisposeAsync();
                throw;
            }
            _stream = ssl;
            Input = PipeReader.Create(_stream);
            Output = PipeWriter.Create(_stream);
        }

        public void Dispose()
        {
            _stream.Dispose();
            _client.Dispose();
        }
    }
}
