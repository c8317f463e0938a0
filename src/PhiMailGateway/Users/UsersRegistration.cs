using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Users;

public static class UsersRegistration
{
    // TODO(helper: users): register IUserDirectory.
    public static IHostApplicationBuilder AddUsers(this IHostApplicationBuilder builder) => builder;
}
