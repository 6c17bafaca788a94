import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { json } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOverrides } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { StrictValidationPipe } from './common/validation.pipe';
import { completeErrorResponses } from './common/openapi';
import { AppConfig } from './config/app-config';
import { RequestObserverMiddleware } from './infra/http/request-observer.middleware';
import { NestPinoLogger } from './infra/logging/nest-pino-logger';
import { createRootLogger, resolveLogFormat } from './infra/logging/pino-options';
import { notFoundResponder } from './common/http-exception.filter';
import { SERVICE_VERSION } from './common/service-info';

export const API_PREFIX = 'api/v1';

/**
 * Bodies read as JSON. The API takes no forms, so curl's default for `-d`
 * (application/x-www-form-urlencoded, used by examples that omit the header) is
 * read as the JSON it carries; anything else in it is a 400 (docs/api.md#compatibility).
 */
const JSON_BODY_TYPES = ['application/json', 'application/*+json', 'application/x-www-form-urlencoded'];

/** Routes that live outside /api/v1. */
const UNPREFIXED = ['/', 'health', 'health/live', 'health/ready', 'metrics'];

/** Builds the application exactly as production runs it; tests call this too. */
export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, overrides), {
    bodyParser: false,
    // Until the application's logger takes over, start-up lines go out at once (not buffered, so
    // they carry their own time) in the same format; a failed start is thrown to the caller
    // (main.ts reports it in one line) rather than exiting here.
    logger: new NestPinoLogger(createRootLogger(config.logLevel, resolveLogFormat(config.logFormat))),
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // API responses are not cacheable; hashing every body for an ETag is wasted work.
  app.set('etag', false);
  const observer = await app.resolve(RequestObserverMiddleware);
  app.use(observer.use.bind(observer));
  app.use(
    json({
      limit: config.bodyLimitBytes,
      // Any JSON value parses; a body that is not an object gets a 422 naming it, not a parse error.
      strict: false,
      type: JSON_BODY_TYPES,
      // Webhook signatures are computed over the exact bytes received.
      verify: (req, _res, buf) => {
        (req as unknown as { rawBody?: Buffer }).rawBody = buf;
      },
    }),
  );
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED });
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.enableShutdownHooks();

  const builder = new DocumentBuilder()
    .setTitle('Execution Gateway')
    .setDescription(
      'Order execution gateway: validates, risk-checks, deduplicates, persists and routes orders. ' +
        'Authenticate with an API key: the Authorize button takes it as a bearer token or as X-API-Key ' +
        '(kept across page reloads). Every error has one body, ErrorResponseDto, whose `error` is a stable ' +
        'reason code. This document as [JSON](/docs-json) or [YAML](/docs-yaml).',
    )
    .setVersion(SERVICE_VERSION)
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'API key',
      description: 'API key as a bearer token',
    })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key');
  const document = SwaggerModule.createDocument(app, builder.build());
  if (config.internalToken.secret) documentServiceSigning(document, config);
  completeErrorResponses(document, API_PREFIX, config.internalToken.secret !== undefined);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    swaggerOptions: { persistAuthorization: true },
  });
  // The document's earlier address, kept for existing clients.
  app.getHttpAdapter().get('/docs/json', (_req, res) => app.getHttpAdapter().reply(res, document, 200));
  try {
    await app.init();
  } catch (err) {
    // A refused start must not leave pools and sockets open behind it.
    await app.close().catch(() => undefined);
    throw err;
  }
  // Nest answers unknown paths only under the API prefix; this answers the rest the same way.
  app.use(notFoundResponder);
  return app;
}

/**
 * With service signing on, every operation outside `/`, health, metrics and
 * docs names the two headers it needs. Added to this document only (the
 * Swagger module's global parameters would outlive this app in the process).
 */
function documentServiceSigning(document: OpenAPIObject, config: AppConfig): void {
  const required = config.internalToken.required;
  const headers = [
    {
      in: 'header' as const,
      name: 'X-Internal-Timestamp',
      required,
      schema: { type: 'string' as const },
      description: `Unix seconds; accepted within ±${config.internalToken.timestampToleranceSeconds} s of the gateway's clock.`,
    },
    {
      in: 'header' as const,
      name: 'X-Internal-Signature',
      required,
      schema: { type: 'string' as const },
      description:
        'Hex HMAC-SHA256 (INTERNAL_TOKEN_SECRET) of timestamp + "\\n" + METHOD + "\\n" + path with query + "\\n" + raw body; accepted once.',
    },
  ];
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith(`/${API_PREFIX}/`)) continue;
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (operation) operation.parameters = [...(operation.parameters ?? []), ...headers];
    }
  }
}
