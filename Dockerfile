# PhiMailGateway container image.
#   docker build -t phimailgateway .
#   docker run -d --name phimail -p 2525:2525 -p 5080:5080 -v phimail-data:/data \
#     -e Relay__Mode=Smtp -e Relay__Host=smtp.example -e Relay__Username=... -e Relay__Password=... \
#     -e Pickup__BaseUrl=https://pickup.smiledental.example phimailgateway
#   printf '%s\n' "$PW" | docker exec -i phimail dotnet PhiMailGateway.dll users add frontdesk
#   docker inspect --format '{{.State.Health.Status}}' phimail     # healthy / unhealthy (GET /health)
#
# Base images are pinned to the exact SDK and runtime versions this repository is built and tested
# with (global.json: SDK 10.0.401; ASP.NET Core runtime 10.0.12), so a rebuild does not pick up a
# different runtime silently. Update both tags together after testing; pin by digest
# (`docker buildx imagetools inspect mcr.microsoft.com/dotnet/aspnet:10.0.12`) if your registry policy wants it.

FROM mcr.microsoft.com/dotnet/sdk:10.0.401 AS build
WORKDIR /src
# global.json is left out on purpose: it pins the developers' SDK feature band, which the image's
# SDK need not match; any .NET 10 SDK builds this.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/PhiMailGateway.Core/PhiMailGateway.Core.csproj src/PhiMailGateway.Core/
COPY src/PhiMailGateway/PhiMailGateway.csproj src/PhiMailGateway/
RUN dotnet restore src/PhiMailGateway/PhiMailGateway.csproj
COPY config/ config/
COPY src/ src/
RUN dotnet publish src/PhiMailGateway/PhiMailGateway.csproj -c Release -o /app --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0.12 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The data directory holds mail, keys and the databases: owned by the non-root app user
# (APP_UID, built into the .NET images) and closed to everyone else.
RUN mkdir -p /data && chown "$APP_UID" /data && chmod 0700 /data
ENV Gateway__DataDirectory=/data \
    Smtp__Address=0.0.0.0 \
    Pickup__Address=0.0.0.0
VOLUME ["/data"]
# 2525: SMTP submission (STARTTLS + AUTH); 5080: the pickup web page. Pickup__BaseUrl (the public
# https URL of the page, behind a TLS proxy) must be set at run time: links are built from it.
EXPOSE 2525 5080
USER $APP_UID
# The runtime image has neither curl nor wget: the gateway's own `health` verb GETs /health on the
# pickup listener (200 healthy, 503 degraded: database, queue work, SMTP listener) and exits 0 or 1.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["dotnet", "PhiMailGateway.dll", "health"]
ENTRYPOINT ["dotnet", "PhiMailGateway.dll"]
