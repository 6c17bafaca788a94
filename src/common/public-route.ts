import { SetMetadata } from '@nestjs/common';

/** Metadata key: the route needs no API key (read by the API-key guard). */
export const PUBLIC_KEY = 'auth:public';

/** The route needs no API key (health, metrics, docs, metadata, signed webhooks). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
