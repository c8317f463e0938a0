using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Users;

public static class UsersRegistration
{
    /// <summary>SMTP AUTH accounts in the gateway database (needs <c>AddStorage</c> for <see cref="Storage.GatewayDatabase"/>).</summary>
    public static IHostApplicationBuilder AddUsers(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IUserDirectory>(sp => new SqliteUserDirectory(sp.GetRequiredService<Storage.GatewayDatabase>()));
        return builder;
    }
}
