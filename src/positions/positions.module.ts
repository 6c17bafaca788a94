import { Module } from '@nestjs/common';
import { PositionRepository } from './persistence/position.repository';
import { PositionsController } from './positions.controller';

@Module({ controllers: [PositionsController], providers: [PositionRepository], exports: [PositionRepository] })
export class PositionsModule {}
