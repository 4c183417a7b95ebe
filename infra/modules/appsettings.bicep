// certgate's app settings. Deployed after the role assignments, so the Key Vault reference and the
// identity-based storage connection resolve on the first start.

@description('Required. Name of the function app.')
param functionAppName string

@description('Required. Name of the storage account (identity-based AzureWebJobsStorage).')
param storageAccountName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Versionless URI of the Key Vault secret that holds the key ring.')
param keyRingSecretUri string

@description('Optional. Seconds certgate waits for a backend.')
@minValue(1)
param backendTimeoutSeconds int = 30

@description('Optional. Seconds certgate caches API and certificate configuration.')
@minValue(1)
param configTtlSeconds int = 5

@description('Optional. NCRONTAB schedule (seconds first, UTC) of the certificate expiry report.')
param expirySchedule string = '0 0 6 * * *'

@description('Optional. Days before expiry at which a certificate is reported, comma-separated.')
param expiryWarningDays string = '30,14,7,1'

@description('Optional. Largest accepted certificate upload, in bytes.')
@minValue(1)
param maxUploadBytes int = 1048576

@description('Optional. Longest silence between two body chunks of a backend\'s answer, in seconds, then the call is cut.')
@minValue(1)
param backendIdleTimeoutSeconds int = 120

@description('Optional. Largest request body the gateway forwards, in bytes (enforced while streaming).')
@minValue(1)
param maxGatewayBodyBytes int = 104857600

@description('Optional. The Functions host\'s request body limit, in bytes.')
@minValue(1)
param requestBodySizeLimitBytes int = 104857600

@description('Optional. Prefix of certgate\'s table names (letters and digits, starting with a letter).')
param tablePrefix string = 'certgate'

@description('Optional. Blob container of the encrypted PFX files.')
param blobContainerName string = 'certgate-pfx'

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // checkov reads every Microsoft.Web/sites/config as the 'web' config; these checks do not apply to 'appsettings':
    // checkov:skip=CKV_AZURE_13:Not a web config (see above); auth is by function keys, set on the functions.
    // checkov:skip=CKV_AZURE_63:Not a web config (see above); logs go to Application Insights.
    // checkov:skip=CKV_AZURE_65:Not a web config (see above); logs go to Application Insights.
    // checkov:skip=CKV_AZURE_66:Not a web config (see above); logs go to Application Insights.
    // checkov:skip=CKV_AZURE_80:Not a web config (see above); the runtime is Python 3.13, not .NET.
    // checkov:skip=CKV_AZURE_88:Not a web config (see above); Flex Consumption has no Azure Files content share.
    // checkov:skip=CKV_AZURE_222:Not a web config (see above); public access is set on the site (functionapp.bicep).
    AzureWebJobsStorage__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
    AzureWebJobsStorage__tableServiceUri: storageAccount.properties.primaryEndpoints.table
    AzureWebJobsStorage__queueServiceUri: storageAccount.properties.primaryEndpoints.queue
    AzureWebJobsStorage__credential: 'managedidentity'
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    CERTGATE_ENCRYPTION_KEYS: '@Microsoft.KeyVault(SecretUri=${keyRingSecretUri})'
    CERTGATE_BACKEND_TIMEOUT_SECONDS: string(backendTimeoutSeconds)
    CERTGATE_BACKEND_IDLE_TIMEOUT_SECONDS: string(backendIdleTimeoutSeconds)
    CERTGATE_CONFIG_TTL_SECONDS: string(configTtlSeconds)
    CERTGATE_MAX_UPLOAD_BYTES: string(maxUploadBytes)
    CERTGATE_MAX_GATEWAY_BODY_BYTES: string(maxGatewayBodyBytes)
    CERTGATE_EXPIRY_SCHEDULE: expirySchedule
    CERTGATE_EXPIRY_WARNING_DAYS: expiryWarningDays
    FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(requestBodySizeLimitBytes)
    CERTGATE_TABLE_PREFIX: tablePrefix
    CERTGATE_BLOB_CONTAINER: blobContainerName
  }
}
