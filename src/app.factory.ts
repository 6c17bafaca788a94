import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOverrides } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { StrictValidationPipe } from './common/validation.pipe';
import { AppConfig } from './config/app-config';
import { requestIdMiddleware } from './infra/logging/logging.module';
import { HttpMetricsMiddleware } from './infra/metrics/http-metrics.middleware';
import { notFoundResponder } from './common/http-exception.filter';
import { SERVICE_VERSION } from './system/service-info';

export const API_PREFIX = 'api/v1';

/** Routes that live outside /api/v1. */
const UNPREFIXED = ['/', 'health', 'health/live', 'health/ready', 'metrics'];

/** Builds the application exactly as production runs it; tests call this too. */
export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, overrides), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // API responses are not cacheable; hashing every body for an ETag is wasted work.
  app.set('etag', false);
  app.use(requestIdMiddleware);
  const httpMetrics = app.get(HttpMetricsMiddleware);
  app.use(httpMetrics.use.bind(httpMetrics));
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED });
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Execution Gateway')
      .setDescription(
        'Order execution gateway: validates, risk-checks, deduplicates, persists and routes orders. ' +
          'Authenticate with an API key: the Authorize button takes it as a bearer token or as X-API-Key.',
      )
      .setVersion(SERVICE_VERSION)
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'API key as a bearer token',
      })
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
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
