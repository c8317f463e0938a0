using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace PhiMailGateway.Health;

/// <summary><c>GET /health</c> (no authentication: 200 healthy, 503 degraded) and <c>GET /metrics</c>.</summary>
public static class HealthEndpoints
{
    /// <summary>
    /// Not rate limited: a probe answered 429 would mark a healthy gateway unhealthy (and restart its
    /// container). The check is a few in-memory flags and one indexed read.
    /// </summary>
    public static void MapHealth(IEndpointRouteBuilder app) =>
        app.MapGet("/health", HealthAsync).DisableRateLimiting();

    public static void MapMetrics(IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", MetricsAsync);

    private static async Task HealthAsync(HttpContext context)
    {
        var status = await context.RequestServices.GetRequiredService<HealthReport>().CheckAsync(context.RequestAborted);
        context.Response.StatusCode = status.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(status.ToJson(), context.RequestAborted);
    }

    private static async Task MetricsAsync(HttpContext context)
    {
        var queue = await context.RequestServices.GetRequiredService<QueueGauges>().ReadAsync(context.RequestAborted);
        var text = PrometheusText.Write(context.RequestServices.GetRequiredService<GatewayMetrics>().Totals(), queue);
        context.Response.ContentType = PrometheusText.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(text, context.RequestAborted);
    }
}
