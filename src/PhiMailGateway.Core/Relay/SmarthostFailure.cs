using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace PhiMailGateway.Relay;

/// <summary>
/// What went wrong with the smarthost connection, in words from a closed vocabulary (socket error
/// names such as <c>ConnectionRefused</c>, "TLS handshake failed", "timeout"), safe for a Warning
/// line: an exception's own message can quote a recipient address, this never does.
/// </summary>
internal static class SmarthostFailure
{
    public static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket) return socket.SocketErrorCode.ToString();
        }
        return e switch
        {
            SslHandshakeException => "TLS handshake failed",
            AuthenticationException => "credentials refused",
            SmtpCommandException command => $"session refused with {(int)command.StatusCode}",
            NotSupportedException => "required TLS not offered",
            OperationCanceledException or TimeoutException => "timeout",
            SmtpProtocolException or ProtocolException => "connection dropped or protocol error",
            IOException => "connection dropped",
            _ => "failed",
        };
    }
}
