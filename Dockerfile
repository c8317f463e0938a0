# PhiMailGateway container image.
#   docker build -t phimailgateway .
#   docker run -d --name phimail -p 2525:2525 -p 5080:5080 -v phimail-data:/data \
#     -e Relay__Mode=Smtp -e Relay__Host=smtp.example -e Relay__Username=... -e Relay__Password=... \
#     -e Pickup__BaseUrl=https://pickup.smiledental.example phimailgateway
#   printf '%s\n' "$PW" | docker exec -i phimail dotnet PhiMailGateway.dll users add frontdesk

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
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

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
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
ENTRYPOINT ["dotnet", "PhiMailGateway.dll"]
