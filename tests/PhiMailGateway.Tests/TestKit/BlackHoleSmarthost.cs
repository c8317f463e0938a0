using System.Net;
using System.Net.Sockets;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// A "smarthost" that accepts TCP connections and never says a word: a relay attempt towards it
/// hangs, so a test can be sure a message is in flight when it kills the gateway.
/// </summary>
public sealed class BlackHoleSmarthost : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _held = [];
    private readonly TaskCompletionSource _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BlackHoleSmarthost()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>Completes when the first connection arrived (the relay attempt has started).</summary>
    public Task FirstConnection => _accepted.Task;

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            try
            {
                var client = await _listener.AcceptTcpClientAsync();
                lock (_held) _held.Add(client);
                _accepted.TrySetResult();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        lock (_held)
        {
            foreach (var client in _held) client.Dispose();
        }
    }
}
