// Operator alerts and the operations workbook on certgate's Application Insights data (customMetrics):
// an action group, a certificate-expiry rule, a BackendTlsError-rate rule. What to do: docs/operations.md.

@description('Required. Name of the existing Application Insights component the rules and the workbook query.')
param applicationInsightsName string

@description('Required. Short name of the environment; it prefixes the rule and workbook names.')
param environmentName string

@description('Optional. Azure region of the alert rules and the workbook.')
param location string = resourceGroup().location

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Optional. E-mail address the action group notifies; empty means an action group without an e-mail receiver.')
param alertEmail string = ''

@description('Optional. An alert fires for a certificate with fewer days to expiry than this.')
@minValue(1)
@maxValue(365)
param expiryWarningDays int = 14

@description('Optional. Severity of the certificate expiry alert (0 critical to 4 verbose).')
@minValue(0)
@maxValue(4)
param expirySeverity int = 1

@description('Optional. How often the certificate expiry rule runs (ISO 8601 duration).')
param expiryEvaluationFrequency string = 'PT1H'

@description('Optional. Window of data the certificate expiry rule reads (ISO 8601 duration); the expiry timer records the gauge at least daily, so keep it at least P1D.')
param expiryWindowSize string = 'P1D'

@description('Optional. The TLS error alert fires when an API has more BackendTlsError responses than this within one window.')
@minValue(0)
param tlsErrorThreshold int = 5

@description('Optional. Severity of the backend TLS error alert (0 critical to 4 verbose).')
@minValue(0)
@maxValue(4)
param tlsErrorSeverity int = 2

@description('Optional. How often the backend TLS error rule runs (ISO 8601 duration).')
param tlsErrorEvaluationFrequency string = 'PT5M'

@description('Optional. Window of data the backend TLS error rule counts errors over (ISO 8601 duration).')
param tlsErrorWindowSize string = 'PT5M'

var expiryQuery = 'customMetrics | where name == "certgate.certificate.days_to_expiry" | summarize min(value) by certificate_id=tostring(customDimensions.certificate_id), kind=tostring(customDimensions.kind) | where min_value < ${expiryWarningDays}'
var tlsErrorQuery = 'customMetrics | where name == "certgate.gateway.errors" | where tostring(customDimensions.code) == "BackendTlsError" | summarize errors=sum(valueSum) by api=tostring(customDimensions.api)'

var emailReceivers = empty(alertEmail) ? [] : [
  {
    name: 'operators'
    emailAddress: alertEmail
    useCommonAlertSchema: true
  }
]

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-certgate-${environmentName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'certgate'
    enabled: true
    emailReceivers: emailReceivers
  }
}

resource certificateExpiryAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certgate-${environmentName}-certificate-expiry'
  location: location
  tags: tags
  properties: {
    displayName: 'certgate: certificate expires in under ${expiryWarningDays} days'
    description: 'A client or CA certificate has fewer than ${expiryWarningDays} days left; rotate it (docs/operations.md).'
    severity: expirySeverity
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: expiryEvaluationFrequency
    windowSize: expiryWindowSize
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: expiryQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'certificate_id'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'kind'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource backendTlsErrorAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certgate-${environmentName}-backend-tls-errors'
  location: location
  tags: tags
  properties: {
    displayName: 'certgate: BackendTlsError above ${tlsErrorThreshold} per window'
    description: 'An API answers BackendTlsError more often than the threshold; run the dry run on it (docs/operations.md).'
    severity: tlsErrorSeverity
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: tlsErrorEvaluationFrequency
    windowSize: tlsErrorWindowSize
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: tlsErrorQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'errors'
          operator: 'GreaterThan'
          threshold: tlsErrorThreshold
          dimensions: [
            {
              name: 'api'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource operationsWorkbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'certgate-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'certgate operations (${environmentName})'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('workbook.json')
  }
}

@description('Name of the action group the alert rules notify.')
output actionGroupName string = actionGroup.name

@description('Name (a GUID) of the operations workbook.')
output workbookName string = operationsWorkbook.name
