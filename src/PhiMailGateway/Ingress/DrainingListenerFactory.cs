using System.Net.Sockets;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace PhiMailGateway.Ingress;

/// <summary>
/// Lets the listener stop accepting without ending the sessions in flight. SmtpServer 11's own
/// <c>Shutdown()</c> cancels a token that every running session is linked to, so a client in the
/// middle of DATA would be cut off with 421. Instead, <see cref="StopAccepting"/> closes the listening
/// sockets (new connections are refused by the kernel) and parks the accept loop until the server's
/// own cancellation token fires, which <see cref="SmtpIngressService"/> does once the sessions drained.
/// </summary>
internal sealed class DrainingListenerFactory(int maxSessions) : IEndpointListenerFactory
{
    private readonly SemaphoreSlim _sessionSlots = new(maxSessions, maxSessions);
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly List<DrainingListener> _listeners = [];
    private readonly Lock _lock = new();

    public event EventHandler<EndpointEventArgs>? EndpointStarted;

    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var tcp = new TcpListener(endpointDefinition.Endpoint);
        tcp.Start();
        EndpointStarted?.Invoke(this, new EndpointEventArgs(endpointDefinition, tcp.LocalEndpoint));
        var listener = new DrainingListener(new TcpEndpointListener(tcp, _sessionSlots), _stopAccepting.Token);
        lock (_lock)
        {
            _listeners.Add(listener);
            if (_stopAccepting.IsCancellationRequested) listener.Dispose();
        }
        return listener;
    }

    public void StopAccepting()
    {
        lock (_lock)
        {
            _stopAccepting.Cancel();
            foreach (var listener in _listeners) listener.Dispose();
        }
    }

    private sealed class DrainingListener(IEndpointListener inner, CancellationToken stopAccepting) : IEndpointListener
    {
        private int _disposed;

        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            if (!stopAccepting.IsCancellationRequested)
            {
                try
                {
                    return await inner.GetPipeAsync(context, cancellationToken);
                }
                catch (Exception) when (stopAccepting.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The socket was closed under the pending accept: park below.
                }
            }
            // Returning or throwing here would make the server's accept loop spin; wait for its end instead.
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new OperationCanceledException(cancellationToken);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) inner.Dispose();
        }
    }
}
